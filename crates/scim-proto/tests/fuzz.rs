//! Fuzzing that stays: grammar-aware property tests of everything a client's bytes reach
//! in the protocol engine — the filter parser and evaluator, the attribute and PATCH path
//! parsers, the PATCH engine (both of Entra ID's dialects) and the normaliser.
//!
//! Properties, for every input: no panic; every error is a [`ScimError`] with a 4xx status,
//! a `scimType` RFC 7644 §3.12 defines for that failure, and a non-empty detail; what
//! parses prints (Display) to text that parses back to the same value; `matches` and
//! `validate` never panic on any document; a PATCH result or a normalised body is a
//! canonical document (normalising it again changes nothing); under any [`Limits`] (small
//! ones included), what a PATCH changed and what a POST/PUT body normalises to stays within
//! them, and so do the members a request names.
//!
//! Generators start from the kinds of input the unit tests and `tests/patch_entra.rs` use
//! (RFC 7644 examples, Entra ID's requests) and vary them: random attribute paths and
//! URNs, keywords in any case, quotes and escapes (valid, invalid, surrogates), nesting,
//! valuePaths, Unicode, overlong input, and character-level mutations of the seeds.
//!
//! Case counts: each target runs [`CASES`] cases (override with `PROPTEST_CASES`). A
//! failing case is saved under `proptest-regressions/fuzz/` (checked in) and replayed
//! first on every later run.

use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngAlgorithm};
use scim_proto::filter::{self, Filter, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use scim_proto::limits::Limits;
use scim_proto::normalize::{
    canonical_document, fold_document, get_path, normalize_resource, normalize_resource_with,
};
use scim_proto::patch::{apply, BlankPolicy, PatchOptions, PatchRequest};
use scim_proto::path::{AttrPath, PatchPath};
use scim_proto::schema::{
    group_resource_schema, user_resource_schema, AttrType, AttributeDef, ResourceSchema, Schema,
    ENTERPRISE_USER_SCHEMA, USER_SCHEMA,
};
use scim_proto::{ScimError, ScimType};
use serde_json::{json, Map, Value};
use std::sync::{Arc, LazyLock};
use support::mutate::{mutate, mutation, SEEDS};

mod support {
    pub mod mutate;
}

/// Cases per target: at least 10,000 (issue 14, item 7).
const CASES: u32 = 10_000;

fn config(file: &'static str) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        // ChaCha, the default, is most of the time of a case in a debug build.
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

/// A client error as RFC 7644 §3.12 wants it: 4xx, one of `allowed`, a detail to act on.
fn check_error(e: &ScimError, allowed: &[ScimType]) -> Result<(), TestCaseError> {
    prop_assert!(
        (400..500).contains(&e.status),
        "status {} for a client's input: {e}",
        e.status
    );
    let Some(t) = e.scim_type else {
        return Err(TestCaseError::fail(format!("no scimType: {e}")));
    };
    prop_assert!(
        allowed.contains(&t),
        "scimType {:?} not in {:?}: {}",
        t,
        allowed,
        e
    );
    prop_assert!(!e.detail.trim().is_empty(), "empty detail: {e:?}");
    Ok(())
}

// ------------------------------------------------------------------------------------
// Schemas and documents
// ------------------------------------------------------------------------------------

const CUSTOM: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

/// A custom extension of every simple type, as a tenant would register one.
fn custom_schema() -> Arc<Schema> {
    Arc::new(Schema {
        id: CUSTOM.to_string(),
        name: "Acme".to_string(),
        description: String::new(),
        attributes: vec![
            AttributeDef::new("badge", AttrType::String, "").with_case_exact(),
            AttributeDef::new("contractor", AttrType::Boolean, ""),
            AttributeDef::new("level", AttrType::Integer, ""),
            AttributeDef::new("rate", AttrType::Decimal, ""),
            AttributeDef::new("hired", AttrType::DateTime, ""),
            AttributeDef::new("site", AttrType::Reference, ""),
            AttributeDef::new("tags", AttrType::String, "").with_multi_valued(),
        ],
    })
}

fn user_schema() -> ResourceSchema {
    user_resource_schema(vec![custom_schema()])
}

/// Bjensen (RFC 7643 §8.2), with the enterprise and custom extensions, as stored.
fn bjensen(schema: &ResourceSchema) -> Value {
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM],
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": { "formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
                  "givenName": "Barbara", "middleName": "Jane", "honorificPrefix": "Ms.",
                  "honorificSuffix": "III" },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "addresses": [{ "type": "work", "streetAddress": "100 Universal City Plaza",
                        "locality": "Hollywood", "region": "CA", "postalCode": "91608",
                        "country": "USA", "primary": true }],
        "phoneNumbers": [{ "value": "555-555-5555", "type": "work" }],
        "ims": [{ "value": "someaimhandle", "type": "aim" }],
        "roles": [{ "value": "tour-guide", "primary": "True" }],
        "x509Certificates": [{ "value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw" }],
        ENTERPRISE_USER_SCHEMA: { "employeeNumber": "701984", "costCenter": "4130",
                                  "organization": "Universal Studios", "division": "Theme Park",
                                  "department": "Tour Operations",
                                  "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" } },
        CUSTOM: { "badge": "B-17", "contractor": "False", "level": 3, "rate": 12.5,
                  "hired": "2011-05-13T04:42:34+02:00", "site": "https://example.com/x",
                  "tags": ["a", "Ä"] }
    });
    normalize_resource(schema, &body).expect("bjensen").doc
}

/// An Entra-created group, as stored.
fn entra_group() -> Value {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": { "resourceType": "Group" }
    });
    normalize_resource(&group_resource_schema(), &body)
        .expect("group")
        .doc
}

// ------------------------------------------------------------------------------------
// Text generators shared by the filter and path targets
// ------------------------------------------------------------------------------------

/// A keyword or name in any ASCII case (`eq`, `EQ`, `Eq`...).
fn any_case(word: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.chars()
            .zip(upper)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

const KNOWN_PATHS: &[&str] = &[
    "userName",
    "name.givenName",
    "name.familyName",
    "name",
    "displayName",
    "title",
    "active",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "phoneNumbers.value",
    "addresses.locality",
    "roles.primary",
    "x509Certificates.value",
    "groups.value",
    "members",
    "members.value",
    "id",
    "externalId",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "password",
    "schemas",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:badge",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:contractor",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:level",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:hired",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:tags",
    "urn:example:unknown:1.0:User:x",
    "$ref",
    "members.$ref",
];

/// An attribute path as text: known paths (sometimes re-cased), random names, URN
/// prefixes, sub-attributes, and malformed ones.
fn path_text() -> BoxedStrategy<String> {
    let name = "[a-zA-Z][a-zA-Z0-9_-]{0,8}";
    prop_oneof![
        6 => prop::sample::select(KNOWN_PATHS).prop_map(str::to_string),
        2 => prop::sample::select(KNOWN_PATHS).prop_map(|p| p.to_ascii_uppercase()),
        3 => (name, prop::option::of(name)).prop_map(|(a, s)| match s {
            Some(s) => format!("{a}.{s}"),
            None => a,
        }),
        2 => ("urn:[a-z]{1,6}(:[a-zA-Z0-9.]{1,6}){0,4}", name).prop_map(|(u, a)| format!("{u}:{a}")),
        1 => "[a-zA-Z0-9_$.:\\-]{0,12}",
        1 => "[0-9.:$_-][a-z]{0,4}",
        1 => Just("a.b.c".to_string()),
        1 => Just(":x".to_string()),
        1 => Just("name.".to_string()),
        1 => Just("é".to_string()),
    ]
    .boxed()
}

/// A comparison literal as written: JSON strings with every kind of escape (valid and
/// not), numbers (valid and not), keywords in any case, bare words.
fn value_text() -> BoxedStrategy<String> {
    let escape = prop::sample::select(vec![
        "\\\"",
        "\\\\",
        "\\/",
        "\\b",
        "\\f",
        "\\n",
        "\\r",
        "\\t",
        "\\u00e9",
        "\\u00E9",
        "\\ud83d\\ude00",
        "\\ud800",
        "\\udc00",
        "\\ud83dx",
        "\\u12",
        "\\x",
        "\\",
        "\u{1}",
        "é",
        "😀",
        "\u{200b}",
        " ",
        "]",
        ")",
        "[",
    ]);
    let piece = prop_oneof![
        3 => "[a-zA-Z0-9 @._-]{0,6}",
        2 => escape.prop_map(str::to_string),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ];
    let quoted = prop::collection::vec(piece, 0..5).prop_map(|p| format!("\"{}\"", p.concat()));
    prop_oneof![
        5 => quoted,
        1 => Just("\"unterminated".to_string()),
        2 => prop::sample::select(vec![
            "42", "-1.5e3", "0", "-0", "1.0", "2E10", "01", "1.", ".5", "-", "1e", "1e+",
            "1e400", "18446744073709551616", "-9223372036854775809", "0x10", "NaN", "+1",
        ])
        .prop_map(str::to_string),
        2 => prop_oneof![any_case("true"), any_case("false"), any_case("null")],
        1 => "[a-zA-Z][a-zA-Z0-9]{0,5}",
        1 => Just(String::new()),
        1 => Just("\"2011-05-13T04:42:34Z\"".to_string()),
        1 => Just("\"2011-05-13T06:42:34.000+02:00\"".to_string()),
        1 => Just("\"True\"".to_string()),
    ]
    .boxed()
}

fn op_text() -> BoxedStrategy<String> {
    prop_oneof![
        12 => prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
            .prop_flat_map(any_case),
        2 => any_case("pr"),
        1 => prop::sample::select(vec!["eqq", "=", "==", "", "and", "not", "in"])
            .prop_map(str::to_string),
    ]
    .boxed()
}

/// Whitespace between tokens: usually one space, sometimes none, tabs, newlines, runs.
fn ws() -> BoxedStrategy<String> {
    prop_oneof![
        8 => Just(" ".to_string()),
        1 => Just(String::new()),
        1 => "[ \t\r\n]{1,3}",
    ]
    .boxed()
}

/// An attribute expression: `path pr` or `path op value`.
fn attr_exp() -> BoxedStrategy<String> {
    (path_text(), ws(), op_text(), ws(), value_text())
        .prop_map(|(p, w1, op, w2, v)| {
            if op.eq_ignore_ascii_case("pr") {
                format!("{p}{w1}{op}")
            } else {
                format!("{p}{w1}{op}{w2}{v}")
            }
        })
        .boxed()
}

/// A filter as text, grammar-aware: `and`/`or` chains, grouping, `not (...)`, valuePaths
/// (with the `].sub op value` leniency), sometimes broken (a missing close, a bare `not`).
fn filter_text() -> BoxedStrategy<String> {
    attr_exp().prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            3 => (inner.clone(), ws(), prop_oneof![any_case("and"), any_case("or")], ws(), inner.clone())
                .prop_map(|(a, w1, k, w2, b)| format!("{a}{w1}{k}{w2}{b}")),
            1 => (inner.clone(), ws()).prop_map(|(a, w)| format!("({w}{a}{w})")),
            1 => (any_case("not"), ws(), inner.clone()).prop_map(|(n, w, a)| format!("{n}{w}({a})")),
            1 => (path_text(), inner.clone()).prop_map(|(p, a)| format!("{p}[{a}]")),
            1 => (path_text(), inner.clone(), "[a-zA-Z]{1,6}", ws(), op_text(), ws(), value_text())
                .prop_map(|(p, a, s, w1, op, w2, v)| format!("{p}[{a}].{s}{w1}{op}{w2}{v}")),
            1 => (path_text(), inner.clone()).prop_map(|(p, a)| format!("{p}[{a}")),
            1 => inner.clone().prop_map(|a| format!("not {a}")),
            1 => inner.prop_map(|a| format!("({a}")),
        ]
    })
    .boxed()
}

/// Filters Entra ID and the other tests use, beyond the unit tests' [`SEEDS`].
const MORE_SEEDS: &[&str] = &[
    r#"userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1""#,
    r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
    r#"displayName eq "displayName""#,
    r#"meta.lastModified ge "2011-05-13T04:42:34Z" and meta.lastModified le "2030-01-01T00:00:00Z""#,
    r#"active eq "True""#,
    r#"members[value eq "a" or value eq "b"]"#,
    r#"urn:example:params:scim:schemas:extension:acme:2.0:User:level gt 2"#,
];

/// Every seed filter.
fn filter_seeds() -> Vec<&'static str> {
    SEEDS.iter().chain(MORE_SEEDS).copied().collect()
}

/// Oversized input: long flat chains, deep nesting, long literals, around the limits.
fn overlong_filter() -> BoxedStrategy<String> {
    prop_oneof![
        (0usize..=MAX_FILTER_DEPTH + 2).prop_map(|d| format!(
            "{}title pr{}",
            "(".repeat(d),
            ")".repeat(d)
        )),
        (0usize..=MAX_FILTER_DEPTH + 2).prop_map(|d| format!(
            "{}title pr{}",
            "not (".repeat(d),
            ")".repeat(d)
        )),
        (MAX_FILTER_LEN - 16..MAX_FILTER_LEN + 16)
            .prop_map(|n| format!("title eq \"{}\"", "x".repeat(n.saturating_sub(11)))),
        (1usize..700).prop_map(|n| vec!["title pr"; n].join(" and ")),
        (1usize..400).prop_map(|n| vec![r#"emails[type eq "work"]"#; n].join(" or ")),
        (1usize..MAX_FILTER_LEN / 2).prop_map(|n| "(".repeat(n)),
    ]
    .boxed()
}

/// Any input the filter targets use.
fn filter_input() -> BoxedStrategy<String> {
    prop_oneof![
        6 => filter_text(),
        4 => (prop::sample::select(filter_seeds()), prop::collection::vec(mutation(), 1..5))
            .prop_map(|(s, m)| mutate(s, &m)),
        1 => any::<String>(),
        1 => "[a-zA-Z0-9 ()\\[\\]\".:$\\\\/_é\t-]{0,60}",
        1 => overlong_filter(),
    ]
    .boxed()
}

// ------------------------------------------------------------------------------------
// Filter target
// ------------------------------------------------------------------------------------

/// Parse, and for what parses: Display round trip, validation against both resource
/// types, evaluation against stored resources and (as value filters) their elements.
fn check_filter(input: &str, docs: &Docs) -> Result<(), TestCaseError> {
    let f = match filter::parse(input) {
        Ok(f) => f,
        Err(e) => {
            check_error(&e, &[ScimType::InvalidFilter])?;
            prop_assert!(
                e.detail.starts_with("invalid filter") || e.detail.starts_with("filter is"),
                "{}",
                e.detail
            );
            return Ok(());
        }
    };
    let shown = f.to_string();
    let again = filter::parse(&shown)
        .map_err(|e| TestCaseError::fail(format!("display {shown:?} of {input:?}: {e}")))?;
    prop_assert_eq!(&again, &f, "display {:?}", shown);
    for (schema, doc) in [(&docs.user, &docs.bjensen), (&docs.group, &docs.group_doc)] {
        if let Err(e) = filter::validate(&f, schema) {
            check_error(&e, &[ScimType::InvalidFilter])?;
        }
        let _ = filter::matches(&f, doc, schema);
        let _ = filter::matches(&f, &Value::Object(Map::new()), schema);
        let _ = filter::matches(&f, &docs.odd, schema);
    }
    // As a value filter on each multi-valued attribute, against each of its elements.
    for attr in docs.user.core.attributes.iter().filter(|a| a.multi_valued) {
        if let Err(e) = filter::validate_value_filter(&f, attr) {
            check_error(&e, &[ScimType::InvalidFilter])?;
        }
        if let Some(Value::Array(elements)) = docs.bjensen.get(&attr.name) {
            for el in elements {
                let _ = filter::matches_element(&f, el, attr);
            }
        }
        let _ = filter::matches_element(&f, &docs.odd, attr);
    }
    Ok(())
}

struct Docs {
    user: ResourceSchema,
    group: ResourceSchema,
    bjensen: Value,
    group_doc: Value,
    /// Not a canonical document: wrong types everywhere, keys in odd case.
    odd: Value,
}

/// The schemas and documents every case checks against, built once.
fn docs() -> &'static Docs {
    static DOCS: LazyLock<Docs> = LazyLock::new(build_docs);
    &DOCS
}

fn build_docs() -> Docs {
    let user = user_schema();
    let bjensen = bjensen(&user);
    Docs {
        bjensen,
        group_doc: entra_group(),
        user,
        group: group_resource_schema(),
        odd: json!({
            "USERNAME": 5, "name": "x", "emails": {"value": ["a", null]}, "active": "yes",
            "meta": [1, 2], "value": {"value": {"value": true}}, "type": null,
            ENTERPRISE_USER_SCHEMA: "not an object", CUSTOM: { "level": "3", "hired": 7 },
            "members": [1, "a", {"value": 2}], "x509Certificates": [[[]]]
        }),
    }
}

/// A stored-looking document with arbitrary values under the schema's keys (and others),
/// for `matches` on documents that do not fit their schema.
fn arb_doc() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "userName",
        "name",
        "emails",
        "active",
        "title",
        "meta",
        "id",
        "externalId",
        "members",
        "displayName",
        "roles",
        "value",
        "type",
        "primary",
        "givenName",
        ENTERPRISE_USER_SCHEMA,
        CUSTOM,
        "department",
        "manager",
        "level",
        "hired",
        "tags",
        "EMAILS",
        "Name",
    ]);
    prop::collection::btree_map(keys, arb_json(2), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

// ------------------------------------------------------------------------------------
// JSON generators (PATCH values, resource bodies)
// ------------------------------------------------------------------------------------

fn arb_scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => prop::sample::select(vec!["True", "False", "true", "FALSE", "yes", ""])
            .prop_map(|s| json!(s)),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<f64>().prop_filter_map("finite", serde_json::Number::from_f64).prop_map(Value::Number),
        1 => prop::sample::select(vec![
            "2011-05-13T04:42:34Z", "2011-05-13T04:42:34.5+02:00", "2011-05-13T04:42:34",
            "2011-13-45T99:00:00Z", "10000-01-01T00:00:00Z", "  2011-05-13T04:42:34Z  ",
        ]).prop_map(|s| json!(s)),
        3 => "[a-zA-Z0-9 @.é_-]{0,12}".prop_map(Value::String),
        1 => any::<String>().prop_map(Value::String),
        1 => Just(json!("a\u{0}b")),
    ]
    .boxed()
}

const JSON_KEYS: &[&str] = &[
    "value",
    "Value",
    "type",
    "primary",
    "display",
    "$ref",
    "givenName",
    "familyName",
    "formatted",
    "locality",
    "x",
    "schemas",
    "id",
    "meta",
    "members",
    "password",
];

fn arb_json(depth: u32) -> BoxedStrategy<Value> {
    arb_scalar()
        .prop_recursive(depth, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(prop::sample::select(JSON_KEYS), inner, 0..4).prop_map(
                    |m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                ),
            ]
        })
        .boxed()
}

/// Arrays nested `n` deep, up to past serde_json's parsing limit (128) that bounds what
/// the server can receive.
fn nested(n: usize, innermost: Value) -> Value {
    (0..n).fold(innermost, |v, i| {
        if i % 2 == 0 {
            json!([v])
        } else {
            json!({ "value": v })
        }
    })
}

/// A value for an attribute of any type: mostly plausible, often of the wrong type.
fn attr_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => arb_scalar(),
        3 => arb_json(3),
        2 => prop::collection::vec(
            (prop::sample::select(vec!["work", "home", "other", "WORK"]), "[a-z]{1,5}@x\\.com", arb_scalar())
                .prop_map(|(t, v, p)| json!({ "type": t, "value": v, "primary": p })),
            0..3,
        ).prop_map(Value::Array),
        1 => (0usize..130).prop_map(|n| nested(n, json!("x"))),
    ]
    .boxed()
}

// ------------------------------------------------------------------------------------
// PATCH target
// ------------------------------------------------------------------------------------

/// A PATCH `path` as Entra and other clients write them, plus broken ones.
fn patch_path_text() -> BoxedStrategy<String> {
    prop_oneof![
        6 => path_text(),
        3 => prop::sample::select(vec![
            r#"emails[type eq "work"].value"#,
            r#"emails[type eq "work"]"#,
            r#"emails[primary eq "True"].primary"#,
            r#"emails[value co "x" or type eq "home"].display"#,
            r#"phoneNumbers[type eq "mobile"].value"#,
            r#"addresses[type eq "work"].locality"#,
            r#"roles[primary eq "True"].value"#,
            r#"members[value eq "a"]"#,
            r#"members[value eq "a" or value eq "b"]"#,
            r#"members[type eq "User"]"#,
            r#"name[givenName eq "x"]"#,
            r#"emails[type eq "work"].value.x"#,
            r#"emails[]"#,
            r#"emails[type eq "work""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:example:params:scim:schemas:extension:acme:2.0:User",
        ]).prop_map(str::to_string),
        2 => (path_text(), filter_text()).prop_map(|(p, f)| format!("{p}[{f}]")),
        1 => (path_text(), filter_text(), "[a-zA-Z]{1,6}").prop_map(|(p, f, s)| format!("{p}[{f}].{s}")),
        1 => (prop::sample::select(filter_seeds()), prop::collection::vec(mutation(), 1..4))
            .prop_map(|(s, m)| mutate(s, &m)),
    ]
    .boxed()
}

fn op_keyword() -> impl Strategy<Value = Value> {
    prop_oneof![
        12 => prop::sample::select(vec!["add", "replace", "remove"]).prop_flat_map(any_case).prop_map(Value::String),
        1 => prop::sample::select(vec!["move", "copy", "test", "", " add"]).prop_map(|s| json!(s)),
        1 => arb_scalar(),
    ]
}

/// A path-less value object as Entra sends it: attribute names in any case, dotted
/// paths, full-URN keys, valuePath keys, extension objects under their URN, `schemas`.
fn pathless_object() -> BoxedStrategy<Value> {
    let key = prop_oneof![
        4 => patch_path_text(),
        1 => Just("schemas".to_string()),
        1 => Just(ENTERPRISE_USER_SCHEMA.to_string()),
        1 => Just(CUSTOM.to_string()),
        1 => Just(USER_SCHEMA.to_string()),
    ];
    prop::collection::vec((key, attr_value()), 0..5)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
        .boxed()
}

/// Member ids in either dialect: `[{"value": id}]`, bare ids, garbage.
fn members_value() -> BoxedStrategy<Value> {
    let id = prop_oneof!["[a-f0-9-]{1,12}".prop_map(Value::String), arb_scalar()];
    prop_oneof![
        3 => prop::collection::vec(id.clone().prop_map(|i| json!({ "value": i })), 0..4).prop_map(Value::Array),
        1 => prop::collection::vec(id.clone(), 0..3).prop_map(Value::Array),
        1 => id.clone().prop_map(|i| json!({ "value": i, "display": "x" })),
        1 => id,
    ]
    .boxed()
}

fn arb_operation() -> BoxedStrategy<Value> {
    let path = prop_oneof![
        3 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!(""))),
        10 => patch_path_text().prop_map(|p| Some(Value::String(p))),
        2 => Just(Some(json!("members"))),
        1 => arb_scalar().prop_map(Some),
    ];
    let value = prop_oneof![
        1 => Just(None),
        4 => attr_value().prop_map(Some),
        3 => pathless_object().prop_map(Some),
        2 => members_value().prop_map(Some),
    ];
    let key = |k: &'static str| prop_oneof![4 => Just(k.to_string()), 1 => any_case(k)];
    (
        key("op"),
        op_keyword(),
        key("path"),
        path,
        key("value"),
        value,
    )
        .prop_map(|(ok, op, pk, path, vk, value)| {
            let mut o = Map::new();
            o.insert(ok, op);
            if let Some(p) = path {
                o.insert(pk, p);
            }
            if let Some(v) = value {
                o.insert(vk, v);
            }
            Value::Object(o)
        })
        .boxed()
}

/// A PatchOp body: mostly well-formed, sometimes not (no `Operations`, not an array, an
/// operation that is not an object).
fn patch_body() -> impl Strategy<Value = Value> {
    let ops = prop::collection::vec(arb_operation(), 1..6).boxed();
    prop_oneof![
        12 => (ops.clone(), any::<bool>()).prop_map(|(ops, with_schemas)| {
            if with_schemas {
                json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops })
            } else {
                json!({ "operations": ops })
            }
        }),
        1 => Just(json!({ "Operations": [] })),
        1 => arb_json(2).prop_map(|v| json!({ "Operations": v })),
        1 => arb_json(2),
        1 => ops.prop_map(Value::Array),
    ]
}

/// Limits to run the engine under: the defaults, or small ones that the generated input
/// reaches (short strings, two or three values, a few members).
fn arb_limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        1 => Just(Limits::default()),
        2 => (1usize..24, 1usize..24, 0usize..4, 0usize..4).prop_map(|(i, s, v, m)| Limits {
            max_identifier_bytes: i,
            max_string_bytes: s,
            max_values: v,
            max_members: m,
            ..Limits::default()
        }),
    ]
}

/// Parse and apply on a stored User or Group under `limits`; errors are SCIM 4xx; a result
/// is a canonical document that a PUT would store unchanged, whose changed attributes and
/// member operations are within `limits`.
fn check_patch(
    body: &Value,
    docs: &Docs,
    group: bool,
    clear: bool,
    limits: Limits,
) -> Result<(), TestCaseError> {
    let req = match PatchRequest::parse(body) {
        Ok(r) => r,
        Err(e) => {
            return check_error(
                &e,
                &[
                    ScimType::InvalidSyntax,
                    ScimType::InvalidPath,
                    ScimType::InvalidFilter,
                    ScimType::InvalidValue,
                ],
            )
        }
    };
    let (schema, mut doc) = if group {
        (&docs.group, docs.group_doc.clone())
    } else {
        (&docs.user, docs.bjensen.clone())
    };
    let opts = PatchOptions {
        blank_policy: if clear {
            BlankPolicy::Clear
        } else {
            BlankPolicy::Ignore
        },
        limits,
    };
    match apply(&mut doc, &req, schema, &opts) {
        Err(e) => check_error(
            &e,
            &[
                ScimType::InvalidSyntax,
                ScimType::InvalidPath,
                ScimType::InvalidFilter,
                ScimType::InvalidValue,
                ScimType::NoTarget,
                ScimType::Mutability,
            ],
        ),
        Ok(out) => {
            let obj = doc.as_object().expect("still an object");
            for banned in ["password", "id", "meta", "schemas", "members", "groups"] {
                prop_assert!(!obj.contains_key(banned), "{} in {}", banned, doc);
            }
            prop_assert!(out.warnings.len() <= 51, "{} warnings", out.warnings.len());
            let within = limits.check_document(obj, schema, Some(&out.changed));
            prop_assert!(within.is_ok(), "{:?}: {:?} in {}", within, out.changed, doc);
            let members: usize = out.member_ops.iter().map(|m| m.id_count()).sum();
            prop_assert!(members <= limits.max_members, "{} members", members);
            let again = normalize_resource(schema, &doc);
            prop_assert!(again.is_ok(), "{:?} for {}", again, doc);
            prop_assert_eq!(
                serde_json::to_string(&again.unwrap().doc).unwrap(),
                serde_json::to_string(&doc).unwrap()
            );
            Ok(())
        }
    }
}

// ------------------------------------------------------------------------------------
// Normaliser target
// ------------------------------------------------------------------------------------

/// A POST/PUT body: known attributes in any case, full-URN keys, extension objects,
/// unknown schema URNs, `schemas`/`id`/`meta`, wrong types, nulls, deep nesting.
fn resource_body() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        6 => path_text(),
        1 => prop::sample::select(vec![
            ENTERPRISE_USER_SCHEMA, CUSTOM, USER_SCHEMA, "urn:example:unknown:1.0:User",
            "schemas", "id", "meta", "externalId", "members", "groups", "password",
        ]).prop_map(str::to_string),
    ];
    let value = prop_oneof![
        6 => attr_value(),
        1 => pathless_object(),
        1 => members_value(),
    ];
    let base = prop::collection::vec((key, value), 0..8);
    prop_oneof![
        8 => (base, "[a-zA-Z0-9@._-]{0,10}", any::<bool>()).prop_map(|(kv, user_name, with_name)| {
            let mut o: Map<String, Value> = kv.into_iter().collect();
            if with_name {
                o.insert("userName".into(), json!(user_name));
                o.insert("displayName".into(), json!(user_name));
            }
            Value::Object(o)
        }),
        1 => arb_json(3),
        1 => (0usize..130).prop_map(|n| json!({ "userName": "u", "name": nested(n, json!({})) })),
    ]
}

fn check_normalize(
    body: &Value,
    docs: &Docs,
    group: bool,
    limits: Limits,
) -> Result<(), TestCaseError> {
    let schema = if group { &docs.group } else { &docs.user };
    match normalize_resource_with(schema, body, &limits) {
        Err(e) => check_error(&e, &[ScimType::InvalidSyntax, ScimType::InvalidValue]),
        Ok(n) => {
            let obj = n.doc.as_object().expect("an object");
            let within = limits.check_document(obj, schema, None);
            prop_assert!(within.is_ok(), "{:?} in {}", within, n.doc);
            let members = n.members.as_ref().map_or(0, Vec::len);
            prop_assert!(members <= limits.max_members, "{} members", members);
            let again = normalize_resource_with(schema, &n.doc, &limits);
            prop_assert!(again.is_ok(), "{:?} for {}", again, n.doc);
            prop_assert_eq!(
                serde_json::to_string(&again.unwrap().doc).unwrap(),
                serde_json::to_string(&n.doc).unwrap()
            );
            prop_assert_eq!(canonical_document(&n.doc, schema), n.doc.clone());
            let _ = fold_document(&n.doc, schema);
            for b in &n.blanks {
                let _ = get_path(&n.doc, b);
            }
            Ok(())
        }
    }
}

// ------------------------------------------------------------------------------------
// The targets
// ------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config("proptest-regressions/fuzz/filter.txt"))]

    /// Filter parser, Display, validation and evaluation.
    #[test]
    fn fuzz_filter(input in filter_input()) {
        let docs = docs();
        check_filter(&input, docs)?;
    }
}

proptest! {
    #![proptest_config(config("proptest-regressions/fuzz/matches.txt"))]

    /// `matches` on documents of any shape, with filters that parse.
    #[test]
    fn fuzz_matches(input in prop_oneof![filter_text(), prop::sample::select(filter_seeds()).prop_map(str::to_string)], doc in arb_doc()) {
        if let Ok(f) = filter::parse(&input) {
            let docs = docs();
            let _ = filter::matches(&f, &doc, &docs.user);
            let _ = filter::matches(&f, &doc, &docs.group);
            if let Filter::ValuePath { attr, filter: inner } = &f {
                if let Some(def) = docs.user.core.attr(&attr.attr) {
                    let _ = filter::matches_element(inner, &doc, def);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config("proptest-regressions/fuzz/path.txt"))]

    /// Attribute and PATCH path parsers.
    #[test]
    fn fuzz_path(input in prop_oneof![
        4 => patch_path_text(),
        1 => any::<String>(),
        1 => (prop::sample::select(KNOWN_PATHS), prop::collection::vec(mutation(), 1..4))
            .prop_map(|(s, m)| mutate(s, &m)),
        1 => (MAX_FILTER_LEN - 4..MAX_FILTER_LEN + 4).prop_map(|n| "a".repeat(n)),
    ]) {
        match AttrPath::parse(&input) {
            Ok(p) => {
                let shown = p.to_string();
                let again = AttrPath::parse(&shown)
                    .map_err(|e| TestCaseError::fail(format!("display {shown:?}: {e}")))?;
                prop_assert_eq!(again, p);
            }
            Err(e) => {
                check_error(&e, &[ScimType::InvalidPath])?;
                prop_assert!(e.detail.starts_with("invalid path") || e.detail.starts_with("path is"), "{}", e.detail);
            }
        }
        match PatchPath::parse(&input) {
            Ok(p) => {
                if let Some(f) = &p.filter {
                    let shown = f.to_string();
                    prop_assert_eq!(&filter::parse(&shown)?, f, "display {:?}", shown);
                }
            }
            Err(e) => check_error(&e, &[ScimType::InvalidPath, ScimType::InvalidFilter])?,
        }
    }
}

proptest! {
    #![proptest_config(config("proptest-regressions/fuzz/patch.txt"))]

    /// PatchOp parsing and the PATCH engine, both Entra dialects, Users and Groups.
    #[test]
    fn fuzz_patch(body in patch_body(), group in any::<bool>(), clear in any::<bool>(), limits in arb_limits()) {
        let docs = docs();
        check_patch(&body, docs, group, clear, limits)?;
    }
}

proptest! {
    #![proptest_config(config("proptest-regressions/fuzz/normalize.txt"))]

    /// The normaliser (POST/PUT bodies).
    #[test]
    fn fuzz_normalize(body in resource_body(), group in any::<bool>(), limits in arb_limits()) {
        let docs = docs();
        check_normalize(&body, docs, group, limits)?;
    }
}

/// Every seed is accepted and passes the filter checks (so the mutations start from
/// valid input).
#[test]
fn filter_seeds_parse() {
    let docs = docs();
    for s in filter_seeds() {
        filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        check_filter(s, docs).unwrap();
    }
}
