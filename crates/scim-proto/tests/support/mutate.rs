//! Seed filters and character-level mutations of them, shared by the filter unit tests
//! (`src/filter/tests.rs`) and the fuzz targets (`tests/fuzz.rs`), which both include this
//! file with `#[path]`.

use proptest::prelude::*;

/// Filters of the kinds RFC 7644 §3.4.2.2 shows and clients send, for mutation.
pub const SEEDS: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"name.familyName co "O'Malley""#,
    r#"userName sw "J""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    "title pr",
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"title pr and userType eq "Employee""#,
    r#"title pr or userType eq "Intern""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    r#"displayName eq "Zo\u00eb \ud83d\ude00 Ångström" and age ge -1.5e3 and active eq true"#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x" and x eq null"#,
    r#"emails[type eq "work"].value eq "x""#,
];

/// One edit of a seed; positions are taken modulo the length at the time of the edit.
#[derive(Debug, Clone)]
pub enum Mutation {
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
    Truncate(usize),
    Duplicate(usize, usize),
}

/// Edits that favour the grammar's own characters (brackets, quotes, escapes, separators)
/// and sometimes use any character at all, U+0000 included.
pub fn mutation() -> BoxedStrategy<Mutation> {
    let ch = prop_oneof![
        3 => prop::sample::select(vec![
            '(', ')', '[', ']', '"', '\\', ' ', '.', ':', 'a', '0', '-', 'é', '\t', 'u', '$', '\0',
        ]),
        1 => any::<char>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Mutation::Insert(i, c)),
        (any::<usize>(), ch).prop_map(|(i, c)| Mutation::Replace(i, c)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Duplicate(i, j)),
    ]
    .boxed()
}

/// Applies the edits in order (always valid UTF-8, as HTTP query strings and JSON strings
/// are once decoded).
pub fn mutate(s: &str, muts: &[Mutation]) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for m in muts {
        let n = chars.len();
        match *m {
            Mutation::Delete(i) if n > 0 => {
                chars.remove(i % n);
            }
            Mutation::Insert(i, c) => chars.insert(i % (n + 1), c),
            Mutation::Replace(i, c) if n > 0 => chars[i % n] = c,
            Mutation::Truncate(i) => chars.truncate(i % (n + 1)),
            Mutation::Duplicate(i, j) if n > 0 => {
                let (a, b) = (i % n, j % n);
                let (a, b) = (a.min(b), a.max(b));
                let piece: Vec<char> = chars[a..=b].to_vec();
                chars.splice(b + 1..b + 1, piece);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}
