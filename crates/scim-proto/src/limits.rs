//! Bounds on what one write may store and one list page may hold, and the characters
//! identifiers may hold: protocol rules whose numbers come from configuration ([`Limits`];
//! docs/security.md, "Input").
//!
//! [`crate::normalize::normalize_resource_with`] checks the whole document of a POST or PUT,
//! and [`crate::patch::apply`] the attributes a PATCH changed (a value stored before a limit
//! was lowered does not block unrelated changes):
//!
//! - every string value is at most [`Limits::max_string_bytes`] long (UTF-8 bytes), and an
//!   identifier (`userName`, `externalId`, a Group's `displayName`) at most
//!   [`Limits::max_identifier_bytes`];
//! - a multi-valued attribute holds at most [`Limits::max_values`] values;
//! - one request names at most [`Limits::max_members`] Group members (a POST's or PUT's
//!   `members`, the ids of all of a PATCH's member operations together);
//! - identifiers hold no control character (C0, DEL, C1), no zero-width space, word joiner or
//!   byte-order mark (U+200B, U+2060, U+FEFF), no line or paragraph separator (U+2028,
//!   U+2029) and no bidirectional formatting character (U+202A–U+202E, U+2066–U+2069); nor,
//!   in `userName` and `externalId`, the zero-width non-joiner and joiner (U+200C, U+200D),
//!   which a Group's `displayName` may hold (Persian and Indic names need them). Such
//!   characters make two identifiers that look the same differ, or one read differently
//!   from what it is.
//!
//! Each failure is a 400 `invalidValue` naming the attribute (its canonical path) and the
//! limit or the character (as `U+XXXX`, with its 1-based character position).

use crate::error::{ScimError, ScimResult};
use crate::identifier::{char_name, refused_char, Identifier};
use crate::schema::{AttrType, AttributeDef, ResourceSchema};
use serde_json::{Map, Value};

/// Default [`Limits::max_identifier_bytes`]: 1 KiB. Entra ID's userPrincipalName is at most
/// 113 characters and its group displayName 256; 256 characters of a script written with
/// 3-byte UTF-8 (CJK) take 768 bytes.
pub const DEFAULT_MAX_IDENTIFIER_BYTES: usize = 1024;
/// Default [`Limits::max_string_bytes`]: 16 KiB. Entra ID's longest string attributes
/// (extensionAttribute1-15) hold 1,024 characters (at most 4 KiB of UTF-8); a base64 X.509
/// certificate chain, the largest value a client may put in a binary attribute, is a few KiB.
pub const DEFAULT_MAX_STRING_BYTES: usize = 16 * 1024;
/// Default [`Limits::max_values`]: 100. Entra ID and Okta send one to three emails, phone
/// numbers and addresses, and a handful of roles or entitlements.
pub const DEFAULT_MAX_VALUES: usize = 100;
/// Default [`Limits::max_members`]: 20,000. Entra ID sends member changes in small PATCH
/// batches; a client creating or replacing a large group may name thousands at once.
pub const DEFAULT_MAX_MEMBERS: usize = 20_000;
/// The smallest [`Limits::max_members`] a server may be configured with (a group of 10,000
/// people must be creatable in one request).
pub const MIN_MAX_MEMBERS: usize = 10_000;
/// Default [`Limits::max_page_bytes`]: 8 MiB, twice the largest request body: a page holds
/// a thousand users of a few KiB each, and any one resource a client could write.
pub const DEFAULT_MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// The bounds a write must stay within (see the module documentation). The numbers come
/// from the server's configuration (`--max-identifier-bytes`, `--max-string-bytes`,
/// `--max-values`, `--max-members-per-request`); [`Limits::default`] gives the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest identifier value (`userName`, `externalId`, a Group's `displayName`), in
    /// UTF-8 bytes.
    pub max_identifier_bytes: usize,
    /// Longest other string value, in UTF-8 bytes.
    pub max_string_bytes: usize,
    /// Most values of one multi-valued attribute (`emails`, `phoneNumbers`, `roles` ...).
    pub max_values: usize,
    /// Most Group members one request may name.
    pub max_members: usize,
    /// Largest list page, in bytes of JSON: a page that would be larger holds fewer
    /// resources (at least one; see [`crate::list::fit_page`]).
    pub max_page_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_identifier_bytes: DEFAULT_MAX_IDENTIFIER_BYTES,
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_values: DEFAULT_MAX_VALUES,
            max_members: DEFAULT_MAX_MEMBERS,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
        }
    }
}

impl Limits {
    /// Checks the attributes of canonical document `doc` of resource type `schema`: all of
    /// them, or when `only` is given the top-level attributes it names (as
    /// [`crate::patch::PatchOutcome::changed`] names them: `emails`,
    /// `urn:...:enterprise:2.0:User:department`).
    ///
    /// Errors: 400 invalidValue naming the attribute and the limit, or the refused
    /// character and its position.
    pub fn check_document(
        &self,
        doc: &Map<String, Value>,
        schema: &ResourceSchema,
        only: Option<&[String]>,
    ) -> ScimResult<()> {
        let wanted = |name: &str| only.is_none_or(|o| o.iter().any(|n| n == name));
        for (key, value) in doc {
            if let Some(ext) = schema.extension(key) {
                let Value::Object(attrs) = value else {
                    continue;
                };
                for (name, v) in attrs {
                    let path = format!("{}:{name}", ext.schema.id);
                    if let (true, Some(def)) = (wanted(&path), ext.schema.attr(name)) {
                        self.check_value(def, v, &path)?;
                    }
                }
                continue;
            }
            let def = schema
                .core
                .attr(key)
                .or_else(|| crate::schema::common_attribute(key));
            if let (true, Some(def)) = (wanted(key), def) {
                self.check_value(def, value, key)?;
            }
        }
        Ok(())
    }

    /// 400 invalidValue when one request names more than [`Limits::max_members`] members.
    pub fn check_members(&self, n: usize) -> ScimResult<()> {
        if n > self.max_members {
            return Err(ScimError::invalid_value(format!(
                "'members': this request names {n} members; the limit is {} per request \
                 (max-members-per-request): send them in several PATCH requests",
                self.max_members
            )));
        }
        Ok(())
    }

    /// Checks one value of attribute `def`, named `path`.
    fn check_value(&self, def: &AttributeDef, v: &Value, path: &str) -> ScimResult<()> {
        match v {
            Value::Array(items) if def.multi_valued => {
                if items.len() > self.max_values {
                    return Err(ScimError::invalid_value(format!(
                        "attribute '{path}' has {} values; the limit is {} (max-values)",
                        items.len(),
                        self.max_values
                    )));
                }
                for item in items {
                    self.check_one(def, item, path)?;
                }
                Ok(())
            }
            other => self.check_one(def, other, path),
        }
    }

    /// Checks one (non-array) value of `def`: a string's length and characters, a complex
    /// value's sub-attributes.
    fn check_one(&self, def: &AttributeDef, v: &Value, path: &str) -> ScimResult<()> {
        match v {
            Value::String(s) => {
                let (limit, option) = match def.identifier {
                    Some(_) => (self.max_identifier_bytes, "max-identifier-bytes"),
                    None => (self.max_string_bytes, "max-string-bytes"),
                };
                if s.len() > limit {
                    return Err(ScimError::invalid_value(format!(
                        "attribute '{path}' is {} bytes long; the limit is {limit} bytes ({option})",
                        s.len()
                    )));
                }
                match def.identifier {
                    Some(kind) => check_identifier(s, kind, path),
                    None => Ok(()),
                }
            }
            Value::Object(o) if def.ty == AttrType::Complex => {
                for (name, sv) in o {
                    if let Some(sub) = def.sub(name) {
                        self.check_value(sub, sv, &format!("{path}.{}", sub.name))?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl AttributeDef {
    /// Marks the attribute as one of scimd's identifiers (see [`Identifier`]).
    pub fn with_identifier(mut self, kind: Identifier) -> Self {
        self.identifier = Some(kind);
        self
    }
}

/// 400 invalidValue when identifier `s` (attribute `path`) holds a character [`refused_char`]
/// refuses.
fn check_identifier(s: &str, kind: Identifier, path: &str) -> ScimResult<()> {
    match refused_char(s, kind) {
        None => Ok(()),
        Some((pos, c)) => Err(ScimError::invalid_value(format!(
            "attribute '{path}' holds U+{:04X} ({}) at character {pos}: control, invisible and \
             bidirectional formatting characters are not allowed in {path}",
            c as u32,
            char_name(c)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{group_resource_schema, user_resource_schema};
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn strings_identifiers_and_values_are_bounded() {
        let l = Limits {
            max_identifier_bytes: 8,
            max_string_bytes: 12,
            max_values: 2,
            max_members: 10_000,
            ..Limits::default()
        };
        let users = user_resource_schema(Vec::new());
        let ok = obj(json!({"userName": "12345678", "title": "123456789012",
            "emails": [{"value": "a@x"}, {"value": "b@x"}]}));
        l.check_document(&ok, &users, None).unwrap();
        for (doc, parts) in [
            (
                json!({"userName": "123456789"}),
                &["'userName' is 9 bytes", "limit is 8 bytes"][..],
            ),
            (
                json!({"name": {"givenName": "é".repeat(7)}}),
                &["'name.givenName' is 14 bytes"],
            ),
            (
                json!({"emails": [{"value": "a"}, {"value": "b"}, {"value": "c"}]}),
                &["'emails' has 3 values; the limit is 2"],
            ),
            (json!({"externalId": "123456789"}), &["'externalId'"]),
        ] {
            let e = l.check_document(&obj(doc), &users, None).unwrap_err();
            assert_eq!(e.status, 400);
            for p in parts {
                assert!(e.detail.contains(p), "{p}: {}", e.detail);
            }
        }
        // Only the attributes named are checked.
        let doc = obj(json!({"userName": "123456789", "title": "t"}));
        l.check_document(&doc, &users, Some(&["title".to_string()]))
            .unwrap();
        let groups = group_resource_schema();
        let e = l
            .check_document(&obj(json!({"displayName": "123456789"})), &groups, None)
            .unwrap_err();
        assert!(e.detail.contains("'displayName'"), "{}", e.detail);
        assert!(l.check_members(10_000).is_ok());
        let e = l.check_members(10_001).unwrap_err();
        assert!(e.detail.contains("10001 members"), "{}", e.detail);
    }

    #[test]
    fn identifiers_refuse_invisible_characters() {
        use Identifier::*;
        assert_eq!(refused_char("plain josé", Account), None);
        assert_eq!(refused_char("a\u{200b}b", Account), Some((2, '\u{200b}')));
        assert_eq!(refused_char("ab\u{202e}", Name), Some((3, '\u{202e}')));
        assert_eq!(refused_char("\u{85}", Name), Some((1, '\u{85}')));
        assert_eq!(refused_char("a\u{7f}", Account), Some((2, '\u{7f}')));
        // Joiners: refused in account identifiers, allowed in names.
        let persian = "می\u{200c}خواهم";
        assert_eq!(refused_char(persian, Name), None);
        assert_eq!(refused_char(persian, Account), Some((3, '\u{200c}')));
        let users = user_resource_schema(Vec::new());
        let e = Limits::default()
            .check_document(&obj(json!({"userName": "bob\u{2066}x"})), &users, None)
            .unwrap_err();
        assert!(
            e.detail.contains("U+2066") && e.detail.contains("character 4"),
            "{}",
            e.detail
        );
        // Other strings may hold them.
        Limits::default()
            .check_document(&obj(json!({"title": "a\u{200b}b"})), &users, None)
            .unwrap();
        let groups = group_resource_schema();
        Limits::default()
            .check_document(&obj(json!({"displayName": persian})), &groups, None)
            .unwrap();
    }
}
