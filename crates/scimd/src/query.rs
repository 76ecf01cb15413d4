//! Query strings and conditional-request headers.
//!
//! Query strings are decoded as `application/x-www-form-urlencoded` (RFC 7644 §3.4.2 puts
//! the parameters in the URL query): `%XX` escapes are decoded as UTF-8 and `+` is a space.
//! Parameter names are matched case-insensitively; unknown parameters are ignored.

use scim_proto::list::parse_attr_list;
use scim_proto::path::AttrPath;
use scim_proto::ScimResult;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Decodes a raw query string (without the `?`) into `(name, value)` pairs, in order.
/// Malformed escapes are kept literally; invalid UTF-8 is replaced by U+FFFD.
pub fn decode_query(raw: Option<&str>) -> Vec<(String, String)> {
    match raw {
        None => Vec::new(),
        Some(q) => form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
    }
}

/// The values of parameter `name` (case-insensitive), in order.
pub fn params<'a>(
    pairs: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    pairs
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether parameter `name` (case-insensitive) is present.
pub fn has_param(pairs: &[(String, String)], name: &str) -> bool {
    params(pairs, name).next().is_some()
}

/// `attributes` and `excludedAttributes` of a request (RFC 7644 §3.9).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// `attributes`: if non-empty, only these (plus `returned: always`) are returned.
    pub attributes: Vec<AttrPath>,
    /// `excludedAttributes`.
    pub excluded: Vec<AttrPath>,
    /// Whether either parameter was given at all (even empty).
    pub requested: bool,
}

/// Parses `attributes` / `excludedAttributes` from query pairs. A parameter given several
/// times is read as one comma-separated list.
///
/// Errors: 400 invalidPath for a malformed attribute path.
pub fn projection(pairs: &[(String, String)]) -> ScimResult<Projection> {
    let join = |name: &str| -> Option<String> {
        let v: Vec<&str> = params(pairs, name).collect();
        if v.is_empty() {
            None
        } else {
            Some(v.join(","))
        }
    };
    let a = join("attributes");
    let e = join("excludedAttributes");
    let requested = a.is_some() || e.is_some();
    let attributes = match a.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_attr_list(s)?,
        None => Vec::new(),
    };
    let excluded = match e.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_attr_list(s)?,
        None => Vec::new(),
    };
    Ok(Projection {
        attributes,
        excluded,
        requested,
    })
}

/// The opaque part of an entity tag, without the weak prefix `W/`.
fn opaque(tag: &str) -> &str {
    let t = tag.trim();
    t.strip_prefix("W/")
        .or_else(|| t.strip_prefix("w/"))
        .unwrap_or(t)
        .trim()
}

/// Whether an `If-None-Match` header value matches `etag` by weak comparison
/// (RFC 9110 §13.1.2): `*`, or any listed tag whose opaque part equals the etag's.
pub fn if_none_match_matches(header: &str, etag: &str) -> bool {
    let want = opaque(etag);
    header
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .any(|t| t == "*" || opaque(t) == want)
}

/// Parses an RFC 3339 timestamp. A space where the offset's `+` should be (a `+` left
/// unescaped in a query string decodes as a space) is read as `+`.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&s.replace(' ', "+"), &Rfc3339).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        decode_query(Some(q))
    }

    #[test]
    fn plus_is_space_and_escapes_decode() {
        let p = pairs("filter=userName+eq+%22a%2Bb%40example.com%22&count=10");
        assert_eq!(
            p[0],
            (
                "filter".to_string(),
                "userName eq \"a+b@example.com\"".to_string()
            )
        );
        assert_eq!(p[1], ("count".to_string(), "10".to_string()));
    }

    #[test]
    fn percent_twenty_and_utf8() {
        let p = pairs("filter=displayName%20eq%20%22J%C3%BCrgen%22");
        assert_eq!(p[0].1, "displayName eq \"Jürgen\"");
    }

    #[test]
    fn odd_inputs() {
        assert!(decode_query(None).is_empty());
        assert!(pairs("").is_empty());
        let p = pairs("a&b=&=c&d=1=2&bad=%zz");
        assert_eq!(
            p,
            vec![
                ("a".into(), "".into()),
                ("b".into(), "".into()),
                ("".into(), "c".into()),
                ("d".into(), "1=2".into()),
                ("bad".into(), "%zz".into())
            ]
        );
    }

    #[test]
    fn names_are_case_insensitive_and_repeatable() {
        let p = pairs("Filter=x&FILTER=y&startIndex=2");
        assert_eq!(params(&p, "filter").collect::<Vec<_>>(), vec!["x", "y"]);
        assert!(has_param(&p, "startindex"));
        assert!(!has_param(&p, "count"));
    }

    #[test]
    fn projection_presence() {
        let p = projection(&pairs("count=1")).unwrap();
        assert!(!p.requested);
        let p = projection(&pairs("excludedAttributes=")).unwrap();
        assert!(p.requested);
        assert!(p.excluded.is_empty());
        let p = projection(&pairs("ATTRIBUTES=userName")).unwrap();
        assert!(p.requested);
    }

    #[test]
    fn etag_comparison() {
        assert!(if_none_match_matches("W/\"3\"", "W/\"3\""));
        assert!(if_none_match_matches("\"3\"", "W/\"3\""));
        assert!(if_none_match_matches("W/\"1\", W/\"3\"", "W/\"3\""));
        assert!(if_none_match_matches("*", "W/\"3\""));
        assert!(!if_none_match_matches("W/\"2\"", "W/\"3\""));
        assert!(!if_none_match_matches("", "W/\"3\""));
    }
}
