//! List and search parameters (RFC 7644 §3.4.2, §3.4.3) and the ListResponse body.

use crate::error::{ScimError, ScimResult};
use crate::filter::Filter;
use crate::path::AttrPath;
use serde_json::Value;

/// Page size used when a request gives no `count`.
pub const DEFAULT_PAGE_SIZE: u64 = 100;
/// Largest page served; a larger `count` is read as this (published as `filter.maxResults`).
pub const MAX_PAGE_SIZE: u64 = 1000;

/// Sort direction (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// `ascending` (the default)
    #[default]
    Ascending,
    /// `descending`
    Descending,
}

/// Parsed list/search parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListParams {
    /// `filter`, parsed.
    pub filter: Option<Filter>,
    /// 1-based `startIndex`; values below 1 are read as 1.
    pub start_index: u64,
    /// `count`, clamped to `0..=MAX_PAGE_SIZE`; negative read as 0; absent → DEFAULT_PAGE_SIZE.
    pub count: u64,
    /// `sortBy`.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder`.
    pub sort_order: SortOrder,
    /// `attributes`.
    pub attributes: Vec<AttrPath>,
    /// `excludedAttributes`.
    pub excluded_attributes: Vec<AttrPath>,
}

/// Parses a comma-separated attribute list (`attributes`, `excludedAttributes`).
/// Errors: 400 invalidPath naming the bad entry.
///
/// Entries are trimmed and empty entries skipped (`"userName, emails,"` gives two paths);
/// each is parsed with [`AttrPath::parse`], so a bare extension URN
/// (`urn:...:enterprise:2.0:User`) becomes uri `urn:...:enterprise:2.0`, attr `User`, which
/// [`crate::projection`] reads as the whole extension.
pub fn parse_attr_list(s: &str) -> ScimResult<Vec<AttrPath>> {
    let mut out = Vec::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let p = AttrPath::parse(entry).map_err(|e| {
            ScimError::invalid_path(format!("invalid attribute '{entry}': {}", e.detail))
        })?;
        out.push(p);
    }
    Ok(out)
}

/// Parses an integer parameter: optional sign, digits, surrounding spaces allowed; values
/// beyond the `i64` range saturate.
fn parse_int(name: &str, raw: &str) -> ScimResult<i64> {
    let t = raw.trim();
    let bad = || ScimError::invalid_value(format!("{name} must be an integer"));
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok(t.parse::<i64>().unwrap_or(if t.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// A JSON `startIndex`/`count`: an integer, an integral float, or a numeric string; `None`
/// for `null`.
fn json_int(name: &str, v: &Value) -> ScimResult<Option<i64>> {
    let bad = || ScimError::invalid_value(format!("{name} must be an integer"));
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if n.as_u64().is_some() {
                Ok(Some(i64::MAX))
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 => {
                        Ok(Some(f.clamp(i64::MIN as f64, i64::MAX as f64) as i64))
                    }
                    _ => Err(bad()),
                }
            }
        }
        Value::String(s) => parse_int(name, s).map(Some),
        _ => Err(bad()),
    }
}

impl ListParams {
    fn defaults() -> ListParams {
        ListParams {
            start_index: 1,
            count: DEFAULT_PAGE_SIZE,
            ..Default::default()
        }
    }

    fn set_start_index(&mut self, i: i64) {
        self.start_index = if i < 1 { 1 } else { i as u64 };
    }

    fn set_count(&mut self, c: i64) {
        self.count = (c.max(0) as u64).min(MAX_PAGE_SIZE);
    }

    fn set_filter(&mut self, s: &str) -> ScimResult<()> {
        self.filter = if s.trim().is_empty() {
            None
        } else {
            Some(crate::filter::parse(s)?)
        };
        Ok(())
    }

    fn set_sort_by(&mut self, s: &str) -> ScimResult<()> {
        let t = s.trim();
        self.sort_by = if t.is_empty() {
            None
        } else {
            Some(AttrPath::parse(t)?)
        };
        Ok(())
    }

    fn set_sort_order(&mut self, s: &str) -> ScimResult<()> {
        let t = s.trim();
        self.sort_order = if t.is_empty() || t.eq_ignore_ascii_case("ascending") {
            SortOrder::Ascending
        } else if t.eq_ignore_ascii_case("descending") {
            SortOrder::Descending
        } else {
            return Err(ScimError::invalid_value(format!(
                "sortOrder must be 'ascending' or 'descending', got '{}'",
                clip(t)
            )));
        };
        Ok(())
    }

    /// From decoded query pairs (names matched case-insensitively; unknown names ignored).
    /// Errors: 400 invalidFilter for a bad filter; 400 invalidValue for a non-integer
    /// startIndex/count or an unknown sortOrder.
    ///
    /// `startIndex` below 1 reads as 1; `count` below 0 as 0 and above [`MAX_PAGE_SIZE`] as
    /// `MAX_PAGE_SIZE`; absent `count` is [`DEFAULT_PAGE_SIZE`]. An empty `filter`, `sortBy`
    /// or `sortOrder` is as if absent. `sortOrder` is `ascending` or `descending` in any case.
    /// `attributes`/`excludedAttributes` are parsed by [`parse_attr_list`] (400 invalidPath),
    /// as is `sortBy` by [`AttrPath::parse`]; a repeated list parameter adds to the list; a
    /// repeated `filter` is a 400 invalidFilter and another repeated scalar parameter a 400
    /// invalidValue (which one was meant cannot be guessed).
    pub fn from_query(pairs: &[(String, String)]) -> ScimResult<ListParams> {
        let mut lp = ListParams::defaults();
        let mut seen = std::collections::HashSet::new();
        for (k, v) in pairs {
            let key = once(&mut seen, k)?;
            match key.as_str() {
                "startindex" => lp.set_start_index(parse_int("startIndex", v)?),
                "count" => lp.set_count(parse_int("count", v)?),
                "filter" => lp.set_filter(v)?,
                "sortby" => lp.set_sort_by(v)?,
                "sortorder" => lp.set_sort_order(v)?,
                "attributes" => lp.attributes.extend(parse_attr_list(v)?),
                "excludedattributes" => lp.excluded_attributes.extend(parse_attr_list(v)?),
                _ => {}
            }
        }
        Ok(lp)
    }

    /// From a `POST /.search` body (RFC 7644 §3.4.3); `attributes` may be an array or a
    /// comma-separated string. Errors as [`ListParams::from_query`], plus 400 invalidSyntax.
    ///
    /// The body must be a JSON object (else 400 invalidSyntax); keys match
    /// case-insensitively; `schemas` is ignored and any other unknown key is a 400
    /// invalidSyntax, as is a key given twice; `null` values
    /// are as if absent. `startIndex`/`count` are JSON integers or numeric strings;
    /// `filter`, `sortBy`, `sortOrder` are strings; `attributes`/`excludedAttributes` are
    /// arrays of strings (each may itself be a comma-separated list) or one comma-separated
    /// string. A value of another JSON type is a 400 invalidValue.
    pub fn from_search_body(body: &Value) -> ScimResult<ListParams> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::invalid_syntax("the search request body must be a JSON object")
        })?;
        let mut lp = ListParams::defaults();
        let mut seen = std::collections::HashSet::new();
        for (k, v) in obj {
            let key = once(&mut seen, k)?;
            if v.is_null() {
                continue;
            }
            let as_str = |name: &str| -> ScimResult<&str> {
                v.as_str()
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must be a string")))
            };
            match key.as_str() {
                "startindex" => {
                    if let Some(i) = json_int("startIndex", v)? {
                        lp.set_start_index(i)
                    }
                }
                "count" => {
                    if let Some(c) = json_int("count", v)? {
                        lp.set_count(c)
                    }
                }
                "filter" => lp.set_filter(as_str("filter")?)?,
                "sortby" => lp.set_sort_by(as_str("sortBy")?)?,
                "sortorder" => lp.set_sort_order(as_str("sortOrder")?)?,
                "attributes" => lp.attributes.extend(json_attr_list("attributes", v)?),
                "excludedattributes" => lp
                    .excluded_attributes
                    .extend(json_attr_list("excludedAttributes", v)?),
                "schemas" => {}
                _ => {
                    // A misspelt key ("fliter") must not silently widen the result.
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown SearchRequest attribute '{}': the attributes are schemas, filter, startIndex, count, sortBy, sortOrder, attributes and excludedAttributes (RFC 7644 §3.4.3)",
                        k.chars().take(64).collect::<String>()
                    )));
                }
            }
        }
        Ok(lp)
    }
}

/// The lower-cased name of list parameter `given`, refusing one given twice
/// (case-insensitively): which of two filters was meant cannot be guessed, and taking either
/// could widen the result. `attributes` and `excludedAttributes` may repeat (their lists add
/// up).
fn once(seen: &mut std::collections::HashSet<String>, given: &str) -> ScimResult<String> {
    let key = given.to_ascii_lowercase();
    let single = matches!(
        key.as_str(),
        "filter" | "startindex" | "count" | "sortby" | "sortorder"
    );
    if single && !seen.insert(key.clone()) {
        let detail = format!("{given} is given more than once; give it once");
        return Err(if key == "filter" {
            ScimError::invalid_filter(detail)
        } else {
            ScimError::invalid_value(detail)
        });
    }
    Ok(key)
}

/// `attributes`/`excludedAttributes` of a search body: an array of strings or a string.
fn json_attr_list(name: &str, v: &Value) -> ScimResult<Vec<AttrPath>> {
    let bad = || ScimError::invalid_value(format!("{name} must be an array of strings"));
    match v {
        Value::String(s) => parse_attr_list(s),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(parse_attr_list(item.as_str().ok_or_else(bad)?)?);
            }
            Ok(out)
        }
        _ => Err(bad()),
    }
}

/// At most 40 characters of client input, for error details.
fn clip(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Keeps the longest prefix of `resources` whose JSON fits in `max_bytes` bytes, and at
/// least the first resource even if it alone is larger (a client must be able to page past
/// it). RFC 7644 §3.4.2.4 lets a page hold fewer resources than `count` asked for: the
/// ListResponse's `itemsPerPage` says how many, and a client asks for the next page from
/// `startIndex + itemsPerPage`. Returns whether resources were dropped.
pub fn fit_page(resources: &mut Vec<Value>, max_bytes: usize) -> bool {
    let mut used = 0usize;
    let keep = resources
        .iter()
        .position(|r| {
            used = used.saturating_add(json_len(r) + 1);
            used > max_bytes
        })
        .map_or(resources.len(), |i| i.max(1));
    let cut = keep < resources.len();
    resources.truncate(keep);
    cut
}

/// The length of `v` serialised as JSON, without building the text.
pub fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Writing a Value to a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// A ListResponse body: `{"schemas":[LIST_RESPONSE_SCHEMA],"totalResults":..,"startIndex":..,"itemsPerPage":..,"Resources":[..]}`.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    serde_json::json!({
        "schemas": [crate::schema::LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> ScimResult<ListParams> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ListParams::from_query(&v)
    }

    fn path(uri: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            uri: uri.map(str::to_string),
            attr: attr.to_string(),
            sub_attr: sub.map(str::to_string),
        }
    }

    #[test]
    fn repeated_scalars_and_unknown_search_keys_are_refused() {
        let q = |pairs: &[(&str, &str)]| {
            let v: Vec<(String, String)> = pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            ListParams::from_query(&v)
        };
        let e = q(&[("filter", "userName eq \"bob\""), ("filter", "")]).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidFilter));
        assert!(q(&[("count", "1"), ("Count", "2")]).is_err());
        assert!(q(&[("attributes", "userName"), ("attributes", "emails")]).is_ok());
        let e = ListParams::from_search_body(&serde_json::json!({"fliter": "x eq 1"})).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidSyntax));
        assert!(e.detail.contains("fliter"));
        assert!(
            ListParams::from_search_body(&serde_json::json!({"schemas": [], "filter": null}))
                .is_ok()
        );
    }

    #[test]
    fn defaults() {
        let lp = q(&[]).unwrap();
        assert_eq!(
            lp,
            ListParams {
                start_index: 1,
                count: DEFAULT_PAGE_SIZE,
                ..Default::default()
            }
        );
        assert_eq!(ListParams::from_search_body(&json!({})).unwrap(), lp);
    }

    #[test]
    fn start_index_and_count_clamping() {
        for (si, want) in [
            ("0", 1),
            ("-5", 1),
            ("1", 1),
            ("7", 7),
            (" 3 ", 3),
            ("99999999999999999999999", i64::MAX as u64),
        ] {
            assert_eq!(q(&[("startIndex", si)]).unwrap().start_index, want, "{si}");
        }
        for (c, want) in [
            ("-1", 0),
            ("0", 0),
            ("10", 10),
            ("1000", 1000),
            ("1001", MAX_PAGE_SIZE),
            ("+5", 5),
        ] {
            assert_eq!(q(&[("count", c)]).unwrap().count, want, "{c}");
        }
        for bad in [
            ("count", "ten"),
            ("count", ""),
            ("startIndex", "1.5"),
            ("STARTINDEX", "x"),
            ("count", "-"),
        ] {
            let e = q(&[bad]).unwrap_err();
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(ScimType::InvalidValue)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_are_case_insensitive_and_unknown_ignored() {
        let lp = q(&[
            ("STARTINDEX", "2"),
            ("Count", "5"),
            ("SortBy", "name.familyName"),
            ("sortorder", "DESCENDING"),
            ("aadOptscim062020", ""),
            ("ATTRIBUTES", "userName,emails.value"),
            ("excludedattributes", "meta"),
        ])
        .unwrap();
        assert_eq!(
            (lp.start_index, lp.count, lp.sort_order),
            (2, 5, SortOrder::Descending)
        );
        assert_eq!(lp.sort_by, Some(path(None, "name", Some("familyName"))));
        assert_eq!(
            lp.attributes,
            [
                path(None, "userName", None),
                path(None, "emails", Some("value"))
            ]
        );
        assert_eq!(lp.excluded_attributes, [path(None, "meta", None)]);
        assert_eq!(
            q(&[("sortOrder", "Ascending")]).unwrap().sort_order,
            SortOrder::Ascending
        );
        let e = q(&[("sortOrder", "up")]).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)));
    }

    #[test]
    fn filters() {
        let lp = q(&[("filter", "userName eq \"bjensen\"")]).unwrap();
        assert!(matches!(lp.filter, Some(Filter::Compare { .. })));
        assert_eq!(q(&[("filter", "")]).unwrap().filter, None);
        assert_eq!(q(&[("filter", "   ")]).unwrap().filter, None);
        let e = q(&[("filter", "userName eq")]).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(ScimType::InvalidFilter))
        );
    }

    #[test]
    fn attr_lists() {
        let ent = crate::schema::ENTERPRISE_USER_SCHEMA;
        let l = parse_attr_list(&format!(" userName , {ent}:department,{ent},, ")).unwrap();
        assert_eq!(
            l,
            [
                path(None, "userName", None),
                path(Some(ent), "department", None),
                path(
                    Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
                    "User",
                    None
                ),
            ]
        );
        assert!(parse_attr_list("").unwrap().is_empty());
        let e = parse_attr_list("userName,emails[type eq \"work\"]").unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidPath)));
        assert!(e.detail.contains("emails[type"), "{}", e.detail);
        // Repeated list parameters accumulate.
        let lp = q(&[("attributes", "userName"), ("attributes", "title")]).unwrap();
        assert_eq!(lp.attributes.len(), 2);
    }

    #[test]
    fn search_body() {
        let lp = ListParams::from_search_body(&json!({
            "schemas": [crate::schema::SEARCH_REQUEST_SCHEMA],
            "Attributes": ["displayName", "userName,title"],
            "excludedAttributes": "meta, groups",
            "FILTER": "displayName sw \"smith\"",
            "startIndex": 0,
            "count": "10",
            "sortBy": "userName",
            "sortOrder": "descending"
        }))
        .unwrap();
        assert_eq!(lp.attributes.len(), 3);
        assert_eq!(
            lp.excluded_attributes,
            [path(None, "meta", None), path(None, "groups", None)]
        );
        assert!(lp.filter.is_some());
        assert_eq!(
            (lp.start_index, lp.count, lp.sort_order),
            (1, 10, SortOrder::Descending)
        );
        assert_eq!(lp.sort_by, Some(path(None, "userName", None)));

        let lp = ListParams::from_search_body(
            &json!({"count": 5000, "startIndex": 2.0, "filter": null}),
        )
        .unwrap();
        assert_eq!(
            (lp.count, lp.start_index, lp.filter),
            (MAX_PAGE_SIZE, 2, None)
        );
        assert_eq!(
            ListParams::from_search_body(&json!({"count": -3}))
                .unwrap()
                .count,
            0
        );

        for (body, t) in [
            (json!([]), ScimType::InvalidSyntax),
            (json!("x"), ScimType::InvalidSyntax),
            (json!({"count": "many"}), ScimType::InvalidValue),
            (json!({"count": 1.5}), ScimType::InvalidValue),
            (json!({"startIndex": true}), ScimType::InvalidValue),
            (json!({"attributes": [1]}), ScimType::InvalidValue),
            (json!({"attributes": {"a": 1}}), ScimType::InvalidValue),
            (json!({"filter": 5}), ScimType::InvalidValue),
            (json!({"sortOrder": "sideways"}), ScimType::InvalidValue),
            (json!({"filter": "a eq"}), ScimType::InvalidFilter),
        ] {
            let e = ListParams::from_search_body(&body).unwrap_err();
            assert_eq!((e.status, e.scim_type), (400, Some(t)), "{body}");
        }
    }

    #[test]
    fn list_response_shape() {
        let v = list_response(3, 1, vec![json!({"id": "a"})]);
        assert_eq!(v["totalResults"], 3);
        assert_eq!(v["itemsPerPage"], 1);
        assert_eq!(v["Resources"][0]["id"], "a");
    }

    #[test]
    fn pages_fit_their_byte_budget() {
        let r = |n: usize| json!({"id": "x".repeat(n)});
        // Each element is 9 + n bytes of JSON, plus one for its comma.
        assert_eq!(json_len(&r(5)), 14);
        let mut page = vec![r(5), r(5), r(5)];
        assert!(fit_page(&mut page, 33));
        assert_eq!(page.len(), 2);
        let mut page = vec![r(5), r(5), r(5)];
        assert!(!fit_page(&mut page, 48));
        assert_eq!(page.len(), 3);
        // At least one, however large.
        let mut page = vec![r(100), r(1)];
        assert!(fit_page(&mut page, 10));
        assert_eq!(page.len(), 1);
        let mut empty: Vec<Value> = vec![];
        assert!(!fit_page(&mut empty, 0));
        let body = list_response(7, 1, page);
        assert_eq!(body["itemsPerPage"], json!(1));
        assert_eq!(body["totalResults"], json!(7));
    }
}
