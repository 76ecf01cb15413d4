//! Notes about ignored input (unknown attributes, readOnly targets ...) collected while a
//! request is read, for the provisioning log: deduplicated, in first-seen order, and capped
//! so that a body with thousands of unknown keys costs linear time and cannot flood the log.

use std::collections::HashSet;

/// At most this many warnings are kept for one request, then one "further warnings omitted".
pub const MAX_WARNINGS: usize = 50;

/// A capped, deduplicated list of warnings.
#[derive(Debug, Default, Clone)]
pub struct Warnings {
    list: Vec<String>,
    seen: HashSet<String>,
}

impl Warnings {
    /// Adds a warning unless it was already given or the cap was reached (O(1)).
    pub fn push(&mut self, w: String) {
        if self.list.len() > MAX_WARNINGS || !self.seen.insert(w.clone()) {
            return;
        }
        if self.list.len() == MAX_WARNINGS {
            self.list.push("further warnings omitted".to_string());
        } else {
            self.list.push(w);
        }
    }

    /// The warnings, in first-seen order (at most `MAX_WARNINGS + 1` entries).
    pub fn into_vec(self) -> Vec<String> {
        self.list
    }
}

/// What a warning says happened, for the summaries administrators see (the dashboard's
/// warnings): the kinds that call for an administrator's action, each with its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// Attributes under a schema URN the resource type does not have were ignored (RFC 7644
    /// §3.3); the subject is the URN. Usually a mapping to a wrong or unregistered URN.
    UnknownSchema,
    /// A value was changed to be valid (several `"primary": true` values, RFC 7643 §2.4);
    /// the subject is the attribute.
    Normalised,
}

impl WarningKind {
    /// `unknown-schema`, `normalised`.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::UnknownSchema => "unknown-schema",
            WarningKind::Normalised => "normalised",
        }
    }

    /// Parses the names of [`WarningKind::as_str`].
    pub fn parse(s: &str) -> Option<WarningKind> {
        [WarningKind::UnknownSchema, WarningKind::Normalised]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Marks the unknown-schema warnings (`… of unknown schema '<urn>'`, see
/// `normalize::unknown_schema_warning` and the PATCH engine).
const UNKNOWN_SCHEMA: &str = " of unknown schema '";
/// Marks the warning of several primary values (`'<attribute>': N values had "primary":
/// true; the first was kept …`, see `normalize::coerce`).
const PRIMARY_KEPT: &str = "the first was kept as the primary value";

/// The kind and subject of a warning this crate gave, when it is one of [`WarningKind`]'s;
/// `None` for the others (unknown attributes, readOnly attributes ...).
pub fn classify(w: &str) -> Option<(WarningKind, &str)> {
    if let Some((_, rest)) = w.rsplit_once(UNKNOWN_SCHEMA) {
        let urn = rest.strip_suffix('\'').unwrap_or(rest);
        return Some((WarningKind::UnknownSchema, urn));
    }
    if w.contains(PRIMARY_KEPT) {
        let attr = w.strip_prefix('\'')?.split_once("':")?.0;
        return Some((WarningKind::Normalised, attr));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_warnings_this_crate_gives_are_classified() {
        let w = crate::normalize::unknown_schema_warning(
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
            &json!({"costCode": "x", "badge": 1}),
        );
        assert_eq!(
            classify(&w),
            Some((
                WarningKind::UnknownSchema,
                "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
            ))
        );
        let w = crate::normalize::unknown_schema_warning("urn:acme:User:costCode", &json!("x"));
        assert_eq!(
            classify(&w),
            Some((WarningKind::UnknownSchema, "urn:acme:User"))
        );
        let schema = crate::schema::user_resource_schema(vec![]);
        let body = json!({
            "schemas": [crate::schema::USER_SCHEMA],
            "userName": "a",
            "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]
        });
        let n = crate::normalize::normalize_resource(&schema, &body).unwrap();
        let kinds: Vec<_> = n.warnings.iter().filter_map(|w| classify(w)).collect();
        assert_eq!(kinds, vec![(WarningKind::Normalised, "emails")]);
        assert_eq!(classify("ignored unknown attribute 'x'"), None);
        assert_eq!(classify("ignored readOnly attribute 'id'"), None);
        for k in [WarningKind::UnknownSchema, WarningKind::Normalised] {
            assert_eq!(WarningKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn deduplicated_and_capped() {
        let mut w = Warnings::default();
        w.push("a".into());
        w.push("a".into());
        for i in 0..10_000 {
            w.push(format!("w{i}"));
        }
        let v = w.into_vec();
        assert_eq!(v.len(), MAX_WARNINGS + 1);
        assert_eq!(v[0], "a");
        assert_eq!(v[MAX_WARNINGS], "further warnings omitted");
    }
}
