//! The lookup and uniqueness keys the store keeps beside identifiers (issue 14): values are
//! stored as sent (`user_name`, `display_name`, the documents), and every lookup, unique
//! index and filter on them goes through their key, computed here in Rust with
//! `scim_proto::canonical::identifier_key` (NFC, then the case fold unless the attribute is
//! caseExact), so both back ends agree and canonically equivalent spellings are one value.
//!
//! | column | key of | folded |
//! |---|---|---|
//! | `users.user_name_folded` | `userName` | yes |
//! | `users.external_id`, `groups.external_id` | `externalId` | no (caseExact, RFC 7643 §3.1) |
//! | `groups.display_name_folded` | a Group's `displayName` | yes |

use scim_proto::canonical::identifier_key;

/// The key of a userName (`users.user_name_folded`).
pub(crate) fn user_name_key(user_name: &str) -> String {
    identifier_key(user_name, false)
}

/// The key of a Group's displayName (`groups.display_name_folded`).
pub(crate) fn display_name_key(display_name: &str) -> String {
    identifier_key(display_name, false)
}

/// The key of an externalId (`users.external_id`, `groups.external_id`): its NFC form.
pub(crate) fn external_id_key(external_id: &str) -> String {
    identifier_key(external_id, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_canonically_equivalent_spellings() {
        assert_eq!(user_name_key("JOSE\u{301}"), user_name_key("jos\u{e9}"));
        assert_eq!(display_name_key("Caf\u{e9}"), "caf\u{e9}");
        assert_eq!(external_id_key("E\u{301}"), "\u{c9}", "NFC, case kept");
    }
}
