use super::*;
use crate::error::{ScimError, ScimType};
use crate::path::{parse_attr_path, parse_patch_path, AttrPath, PatchPath};
use crate::schema::{
    AttrType, AttributeDef, ResourceSchema, Schema, SchemaExtension, ENTERPRISE_USER_SCHEMA,
    USER_SCHEMA,
};
use proptest::prelude::*;
use serde_json::json;
use serde_json::Value;
use std::sync::Arc;
use support_mutate::{mutate, mutation, SEEDS};

#[path = "../../tests/support/mutate.rs"]
mod support_mutate;

// ---- a tiny hand-built schema ---------------------------------------------------

fn a(name: &str, ty: AttrType) -> AttributeDef {
    // The RFC 7643 §2.2 defaults: single-valued, not caseExact, readWrite, returned default.
    AttributeDef::new(name, ty, "")
}
fn s(name: &str) -> AttributeDef {
    a(name, AttrType::String)
}
fn exact(mut d: AttributeDef) -> AttributeDef {
    d.case_exact = true;
    d
}
fn mv(mut d: AttributeDef) -> AttributeDef {
    d.multi_valued = true;
    d
}
fn cx(name: &str, subs: Vec<AttributeDef>) -> AttributeDef {
    let mut d = a(name, AttrType::Complex);
    d.sub_attributes = subs;
    d
}

const CUSTOM: &str = "urn:example:params:scim:schemas:extension:custom:1.0:Thing";

fn test_schema() -> ResourceSchema {
    let core = Schema {
        id: USER_SCHEMA.to_string(),
        name: "User".to_string(),
        description: String::new(),
        attributes: vec![
            s("userName"),
            s("displayName"),
            s("title"),
            s("nickName"),
            exact(s("code")),
            a("active", AttrType::Boolean),
            a("age", AttrType::Integer),
            a("score", AttrType::Decimal),
            a("birthday", AttrType::DateTime),
            a("photo", AttrType::Binary),
            a("profileUrl", AttrType::Reference),
            cx(
                "name",
                vec![s("givenName"), s("familyName"), s("formatted")],
            ),
            mv(cx(
                "emails",
                vec![
                    s("value"),
                    s("type"),
                    a("primary", AttrType::Boolean),
                    s("display"),
                ],
            )),
            mv(cx(
                "addresses",
                vec![s("type"), s("streetAddress"), s("locality")],
            )),
            mv(s("tags")),
            mv(cx(
                "members",
                vec![
                    exact(s("value")),
                    exact(a("$ref", AttrType::Reference)),
                    s("display"),
                    s("type"),
                ],
            )),
        ],
    };
    let ent = Schema {
        id: ENTERPRISE_USER_SCHEMA.to_string(),
        name: "EnterpriseUser".to_string(),
        description: String::new(),
        attributes: vec![
            s("employeeNumber"),
            s("department"),
            cx(
                "manager",
                vec![
                    exact(s("value")),
                    a("$ref", AttrType::Reference),
                    s("displayName"),
                ],
            ),
        ],
    };
    let custom = Schema {
        id: CUSTOM.to_string(),
        name: "Thing".to_string(),
        description: String::new(),
        attributes: vec![a("level", AttrType::Integer)],
    };
    ResourceSchema {
        name: "User".to_string(),
        endpoint: "/Users".to_string(),
        description: String::new(),
        core: Arc::new(core),
        extensions: vec![
            SchemaExtension {
                schema: Arc::new(ent),
                required: false,
            },
            SchemaExtension {
                schema: Arc::new(custom),
                required: false,
            },
        ],
    }
}

fn bjensen() -> Value {
    json!({
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "BJ-1",
        "userName": "bjensen",
        "displayName": "Zoë Ångström",
        "code": "AbC",
        "active": true,
        "age": 42,
        "score": 3.5,
        "birthday": "1980-04-01T12:00:00Z",
        "profileUrl": "https://example.com/bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [],
        "tags": ["Blue", "green"],
        "nickName": "",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Eng",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        },
        "urn:example:params:scim:schemas:extension:custom:1.0:Thing": {"level": 7},
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"a330bc54f0671c9\""
        }
    })
}

fn p(s: &str) -> Filter {
    parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}
fn perr(s: &str) -> ScimError {
    match parse(s) {
        Ok(f) => panic!("{s:?} should not parse, got {f:?}"),
        Err(e) => {
            assert_eq!(e.status, 400, "{s:?}");
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{s:?}: {e}");
            e
        }
    }
}

/// [`perr`], also asserting that the error's `detail` contains each of `parts`.
#[track_caller]
fn perr_containing(s: &str, parts: &[&str]) {
    let e = perr(s);
    for part in parts {
        assert!(
            e.detail.contains(part),
            "{s:?}: {part:?} not in {}",
            e.detail
        );
    }
}

fn path(uri: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
    AttrPath {
        uri: uri.map(str::to_string),
        attr: attr.to_string(),
        sub_attr: sub.map(str::to_string),
    }
}
fn ap(s: &str) -> AttrPath {
    parse_attr_path(s).unwrap()
}
fn pr(s: &str) -> Filter {
    Filter::Present(ap(s))
}
fn cmp(s: &str, op: CompareOp, v: CompValue) -> Filter {
    Filter::Compare {
        path: ap(s),
        op,
        value: v,
    }
}
fn st(s: &str) -> CompValue {
    CompValue::String(s.to_string())
}
fn and(x: Filter, y: Filter) -> Filter {
    Filter::And(Box::new(x), Box::new(y))
}
fn or(x: Filter, y: Filter) -> Filter {
    Filter::Or(Box::new(x), Box::new(y))
}
fn not(x: Filter) -> Filter {
    Filter::Not(Box::new(x))
}
fn m(f: &str) -> bool {
    matches(&p(f), &bjensen(), &test_schema())
}
fn m_doc(f: &str, doc: Value) -> bool {
    matches(&p(f), &doc, &test_schema())
}

// ---- parsing: structure ---------------------------------------------------------

#[test]
fn literals_must_fit_the_attribute_type() {
    let schema = crate::schema::user_resource_schema(vec![]);
    let check = |f: &str| validate(&parse(f).unwrap(), &schema);
    for ok in [
        r#"active eq true"#,
        r#"active eq "True""#,
        r#"userName eq "bob""#,
        r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
        r#"meta.created sw "2026""#,
        r#"emails eq "a@b""#,
        r#"title eq null"#,
    ] {
        assert!(check(ok).is_ok(), "{ok}");
    }
    for bad in [
        r#"active eq 1"#,
        r#"active eq "yes""#,
        r#"userName gt 5"#,
        r#"userName eq true"#,
        r#"meta.created gt "garbage""#,
        r#"password eq "x""#,
    ] {
        let e = check(bad).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidFilter), "{bad}");
    }
}

#[test]
fn parses_simple_comparison() {
    assert_eq!(
        p(r#"userName eq "bjensen""#),
        cmp("userName", CompareOp::Eq, st("bjensen"))
    );
}

#[test]
fn parses_every_operator_case_insensitively() {
    for op in CompareOp::ALL {
        for kw in [op.as_str().to_string(), op.as_str().to_uppercase()] {
            let f = p(&format!(r#"title {kw} "x""#));
            assert_eq!(f, cmp("title", op, st("x")));
        }
    }
    assert_eq!(p("title pr"), pr("title"));
    assert_eq!(p("title PR"), pr("title"));
    assert_eq!(p("title Pr"), pr("title"));
    assert_eq!(CompareOp::from_keyword("pr"), None);
}

#[test]
fn keywords_are_case_insensitive_names_keep_spelling() {
    let f = p(r#"UserName EQ "x" AND NOT (Title Pr) Or active eq TRUE"#);
    assert_eq!(
        f,
        or(
            and(cmp("UserName", CompareOp::Eq, st("x")), not(pr("Title"))),
            cmp("active", CompareOp::Eq, CompValue::Bool(true))
        )
    );
    assert_eq!(
        p("a eq False").to_string(),
        "a eq false",
        "keyword literal normalised"
    );
    assert_eq!(p("a eq NULL"), cmp("a", CompareOp::Eq, CompValue::Null));
}

#[test]
fn precedence_and_binds_tighter_than_or() {
    assert_eq!(
        p("a pr or b pr and c pr"),
        or(pr("a"), and(pr("b"), pr("c")))
    );
    assert_eq!(
        p("a pr and b pr or c pr"),
        or(and(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        p("a pr or b pr and c pr or d pr"),
        or(or(pr("a"), and(pr("b"), pr("c"))), pr("d"))
    );
}

#[test]
fn and_or_are_left_associative() {
    assert_eq!(p("a pr or b pr or c pr"), or(or(pr("a"), pr("b")), pr("c")));
    assert_eq!(
        p("a pr and b pr and c pr"),
        and(and(pr("a"), pr("b")), pr("c"))
    );
}

#[test]
fn parentheses_group() {
    assert_eq!(
        p("(a pr or b pr) and c pr"),
        and(or(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        p("a pr and (b pr or c pr)"),
        and(pr("a"), or(pr("b"), pr("c")))
    );
    assert_eq!(p("((a pr))"), pr("a"));
    assert_eq!(p("( a pr )"), pr("a"));
    assert_eq!(p("(a pr)and(b pr)"), and(pr("a"), pr("b")));
}

#[test]
fn not_binds_tighter_than_and() {
    assert_eq!(p("not (a pr)"), not(pr("a")));
    assert_eq!(p("not(a pr)"), not(pr("a")));
    assert_eq!(p("NOT  (a pr or b pr)"), not(or(pr("a"), pr("b"))));
    assert_eq!(p("not (a pr) and b pr"), and(not(pr("a")), pr("b")));
    assert_eq!(p("b pr or not (a pr)"), or(pr("b"), not(pr("a"))));
    assert_eq!(p("not (not (a pr))"), not(not(pr("a"))));
    perr_containing("not a pr", &["expected '(' after 'not'", "position 5"]);
    perr("not");
    perr("not ()");
}

#[test]
fn value_path() {
    let f = p(r#"emails[type eq "work" and value co "@example.com"]"#);
    assert_eq!(
        f,
        Filter::ValuePath {
            attr: ap("emails"),
            filter: Box::new(and(
                cmp("type", CompareOp::Eq, st("work")),
                cmp("value", CompareOp::Co, st("@example.com"))
            )),
        }
    );
    // RFC 7644 §3.4.2.2 examples.
    p(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#);
    p(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    );
    p(r#"emails[not (type eq "work")]"#);
    p(r#"emails[(type eq "work")]"#);
    p(r#"emails[ type eq "]" ]"#);
    let f = p(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#);
    let Filter::ValuePath { attr, .. } = f else {
        panic!()
    };
    assert_eq!(attr, path(Some(USER_SCHEMA), "emails", None));
}

#[test]
fn value_path_errors() {
    perr_containing(
        r#"emails[type eq "work" and addresses[type eq "x"]]"#,
        &["nested"],
    );
    perr_containing(r#"emails[type eq "work"]]"#, &["unmatched ']'"]);
    perr_containing(
        r#"emails[type eq "work""#,
        &["to close the '[' at position 7"],
    );
    perr("emails[]");
    perr(r#"emails.value[type eq "work"]"#);
    perr(r#"emails [type eq "work"]"#);
    perr(r#"emails[type eq "work")"#);
    perr(r#"(emails[type eq "work")]"#);
}

#[test]
fn value_path_followed_by_sub_attribute_is_folded_in() {
    assert_eq!(
        p(r#"emails[type eq "work"].value eq "x""#),
        Filter::ValuePath {
            attr: ap("emails"),
            filter: Box::new(and(
                cmp("type", CompareOp::Eq, st("work")),
                cmp("value", CompareOp::Eq, st("x"))
            )),
        }
    );
    perr(r#"emails[type eq "work"].value"#);
    perr(r#"emails[type eq "work"]. value eq "x""#);
}

#[test]
fn urn_qualified_paths() {
    let cases = [
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            path(Some(ENTERPRISE_USER_SCHEMA), "employeeNumber", None),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            path(Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value")),
        ),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            path(Some(USER_SCHEMA), "userName", None),
        ),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
            path(Some(USER_SCHEMA), "name", Some("familyName")),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            p(&format!("{text} pr")),
            Filter::Present(expected.clone()),
            "{text}"
        );
        assert_eq!(parse_attr_path(text).unwrap(), expected, "{text}");
        assert_eq!(expected.to_string(), text);
    }
}

#[test]
fn attribute_names() {
    assert_eq!(
        p("name.familyName pr"),
        Filter::Present(path(None, "name", Some("familyName")))
    );
    assert_eq!(
        p("members.$ref pr"),
        Filter::Present(path(None, "members", Some("$ref")))
    );
    assert_eq!(p("$ref pr"), Filter::Present(path(None, "$ref", None)));
    assert_eq!(p("x-y_z9 pr"), Filter::Present(path(None, "x-y_z9", None)));
    perr("9abc pr");
    perr("_abc pr");
    perr("a.b.c pr");
    perr("a. pr");
    perr(".a pr");
    perr("a$b pr");
    perr("urn:x: pr");
    perr(":a pr");
    perr("café eq \"x\"");
}

#[test]
fn string_literals_and_escapes() {
    let f = p(r#"title eq "q\" b\\ s\/ \b\f\n\r\t \u00e9 \u4E2D \ud83d\ude00""#);
    assert_eq!(
        f,
        cmp(
            "title",
            CompareOp::Eq,
            st("q\" b\\ s/ \u{8}\u{c}\n\r\t é 中 😀")
        )
    );
    assert_eq!(p(r#"title eq """#), cmp("title", CompareOp::Eq, st("")));
    assert_eq!(
        p(r#"displayName eq "Zoë Ångström""#),
        cmp("displayName", CompareOp::Eq, st("Zoë Ångström"))
    );
    assert_eq!(
        p(r#"title eq "a)b(c]d[e""#),
        cmp("title", CompareOp::Eq, st("a)b(c]d[e"))
    );
    perr("title eq \"x\tNO\"");
}

#[test]
fn string_literal_errors() {
    perr_containing(r#"title eq "abc"#, &["unterminated string", "position 10"]);
    perr(r#"title eq "abc\"#);
    perr(r#"title eq "\x""#);
    perr(r#"title eq "\u12""#);
    perr(r#"title eq "\u12G4""#);
    perr(r#"title eq "\ud83d""#);
    perr(r#"title eq "\ud83dx""#);
    perr(r#"title eq "\ud83d\u0041""#);
    perr(r#"title eq "\ude00""#);
    perr("title eq \"a\u{1}b\"");
    perr("title eq \"a\nb\"");
    perr(r#"title eq "a""b""#);
}

#[test]
fn numbers_and_keywords() {
    let n = |s: &str| match p(&format!("age eq {s}")) {
        Filter::Compare {
            value: CompValue::Number(n),
            ..
        } => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(n("42"), serde_json::Number::from(42));
    assert_eq!(n("-1"), serde_json::Number::from(-1));
    assert_eq!(n("0"), serde_json::Number::from(0));
    assert_eq!(n("1.5").as_f64(), Some(1.5));
    assert_eq!(n("-2.5E-3").as_f64(), Some(-0.0025));
    assert_eq!(n("1e10").as_f64(), Some(1e10));
    assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
    for bad in [
        "01", "1.", ".5", "-", "1e", "+1", "1e+", "--1", "0x10", "1.2.3", "1e400", "12abc",
    ] {
        perr(&format!("age eq {bad}"));
    }
    assert_eq!(
        p("a eq true"),
        cmp("a", CompareOp::Eq, CompValue::Bool(true))
    );
    assert_eq!(
        p("a eq false"),
        cmp("a", CompareOp::Eq, CompValue::Bool(false))
    );
    assert_eq!(p("a eq null"), cmp("a", CompareOp::Eq, CompValue::Null));
    assert_eq!(
        p(r#"active eq "True""#),
        cmp("active", CompareOp::Eq, st("True"))
    );
}

#[test]
fn whitespace_is_lenient() {
    let expected = and(cmp("a", CompareOp::Eq, st("x")), pr("b"));
    for s in [
        r#"a eq "x" and b pr"#,
        "  a   eq\t\"x\"  and \t b pr  ",
        "\ta eq \"x\"\r\nand b pr\n",
        r#"a eq"x" and b pr"#,
        r#"a eq "x"and b pr"#,
    ] {
        assert_eq!(p(s), expected, "{s:?}");
    }
}

// ---- parsing: errors --------------------------------------------------------------

#[test]
fn error_messages_name_position_and_expectation() {
    let e = perr(r#"userName eqq "bjensen""#);
    assert_eq!(
            e.detail,
            "invalid filter at position 10: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le) or 'pr' after 'userName', found 'eqq'"
        );
    let e = perr("userName eq bjensen");
    assert_eq!(
            e.detail,
            "invalid filter at position 13: expected a value (a quoted string, a number, true, false or null) after 'eq', found 'bjensen' (string values must be in double quotes)"
        );
    let e = perr("userName eq");
    assert!(
        e.detail.ends_with("after 'eq', found end of input"),
        "{}",
        e.detail
    );
    assert!(e.detail.contains("position 12"), "{}", e.detail);
    perr_containing("userName", &["after 'userName', found end of input"]);
    // Positions count characters, not bytes.
    let e = perr(r#"displayName eq "Zoë" andd x pr"#);
    assert_eq!(
        e.detail,
        "invalid filter at position 22: expected 'and', 'or' or end of filter, found 'andd'"
    );
}

#[test]
fn syntax_errors() {
    for bad in [
        "",
        "   ",
        r#"title pr "x""#,
        "title pr pr",
        r#"title eq"#,
        r#"title eq "x" garbage"#,
        r#"title eq "x" and"#,
        r#"title eq "x" or"#,
        r#"(title pr"#,
        r#"title pr)"#,
        r#"((title pr)"#,
        r#"title pr]"#,
        r#"[title pr]"#,
        r#"title xx "x""#,
        r#"title == "x""#,
        r#""x" eq title"#,
        r#"title eq ("x")"#,
        r#"title eq "x" and (b pr"#,
        r#"title eq "x" "y""#,
        r#"title eq "x" and or b pr"#,
        "()",
        "(",
        ")",
        "title eq undefined",
        "title eq 'x'",
    ] {
        perr(bad);
    }
    assert!(perr("").detail.contains("empty filter"));
    assert!(perr("title pr)").detail.contains("unmatched ')'"));
}

#[test]
fn length_limit() {
    let long = format!(r#"title eq "{}""#, "x".repeat(MAX_FILTER_LEN));
    perr_containing(&long, &["maximum"]);
    let fits = format!(r#"title eq "{}""#, "x".repeat(MAX_FILTER_LEN - 11));
    assert_eq!(fits.len(), MAX_FILTER_LEN);
    p(&fits);
}

#[test]
fn depth_limit() {
    let nest = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    p(&nest(MAX_FILTER_DEPTH));
    perr_containing(&nest(MAX_FILTER_DEPTH + 1), &["nests more than 32"]);
    let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
    p(&nots(MAX_FILTER_DEPTH));
    perr(&nots(MAX_FILTER_DEPTH + 1));
    // Far deeper than the limit: rejected without deep recursion.
    perr(&"(".repeat(MAX_FILTER_LEN));
    perr(&"not (".repeat(MAX_FILTER_LEN / 5));
    // valuePath counts as a level.
    let vp = format!(
        "{}emails[type pr]{}",
        "(".repeat(MAX_FILTER_DEPTH - 1),
        ")".repeat(MAX_FILTER_DEPTH - 1)
    );
    p(&vp);
    let vp = format!(
        "{}emails[type pr]{}",
        "(".repeat(MAX_FILTER_DEPTH),
        ")".repeat(MAX_FILTER_DEPTH)
    );
    perr(&vp);
}

#[test]
fn long_flat_filters_parse_and_evaluate() {
    // A wide (not deep) filter near the length limit: linear time, no stack trouble.
    let mut s = String::from("title pr");
    while s.len() < MAX_FILTER_LEN - 20 {
        s.push_str(" or title pr");
    }
    let f = p(&s);
    assert!(!matches(&f, &bjensen(), &test_schema()));
    assert_eq!(parse(&f.to_string()).unwrap(), f);
}

// ---- attribute and PATCH paths ----------------------------------------------------

#[test]
fn attr_paths() {
    assert_eq!(ap("members"), path(None, "members", None));
    assert_eq!(
        ap("  name.givenName "),
        path(None, "name", Some("givenName"))
    );
    assert_eq!(
        ap("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        path(Some(ENTERPRISE_USER_SCHEMA), "manager", None)
    );
    assert_eq!(
        AttrPath::parse("userName").unwrap(),
        path(None, "userName", None)
    );
    for bad in [
        "",
        "  ",
        "a.b.c",
        "1abc",
        r#"emails[type eq "work"]"#,
        "a b",
        "urn:x:",
        "a.",
        "é",
    ] {
        let e = parse_attr_path(bad).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{bad:?}");
        assert!(e.detail.starts_with("invalid path"), "{}", e.detail);
    }
    let e = parse_attr_path("name.given$Name").unwrap_err();
    assert_eq!(
            e.detail,
            "invalid path at position 11: invalid character '$' in attribute name 'given$Name' (allowed: letters, digits, '-', '_')"
        );
}

#[test]
fn patch_paths() {
    let pp = |s: &str| parse_patch_path(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(
        pp("members"),
        PatchPath {
            attr: ap("members"),
            filter: None,
            sub_attr_after_filter: None
        }
    );
    assert_eq!(
        pp("name.givenName").attr,
        path(None, "name", Some("givenName"))
    );
    let x = pp(r#"emails[type eq "work"].value"#);
    assert_eq!(x.attr, ap("emails"));
    assert_eq!(x.filter, Some(cmp("type", CompareOp::Eq, st("work"))));
    assert_eq!(x.sub_attr_after_filter.as_deref(), Some("value"));
    let x = pp(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#);
    assert_eq!(
        x.filter,
        Some(cmp(
            "value",
            CompareOp::Eq,
            st("2819c223-7f76-453a-919d-413861904646")
        ))
    );
    assert_eq!(x.sub_attr_after_filter, None);
    assert_eq!(
        pp("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager").attr,
        path(Some(ENTERPRISE_USER_SCHEMA), "manager", None)
    );
    assert_eq!(
        pp("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value").attr,
        path(Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value"))
    );
    let x = pp(r#"addresses[type eq "work"].streetAddress"#);
    assert_eq!(x.sub_attr_after_filter.as_deref(), Some("streetAddress"));
    let x = pp(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#);
    assert_eq!(x.attr, path(Some(USER_SCHEMA), "emails", None));
    assert_eq!(x.sub_attr_after_filter.as_deref(), Some("value"));
    // `]` inside a string literal does not close the filter.
    let x = pp(r#"emails[display eq "a]b" or value co "]"].type"#);
    assert_eq!(
        x.filter,
        Some(or(
            cmp("display", CompareOp::Eq, st("a]b")),
            cmp("value", CompareOp::Co, st("]"))
        ))
    );
    assert_eq!(
        pp(r#"emails[type eq "work" and primary eq true]"#).sub_attr_after_filter,
        None
    );
    assert_eq!(PatchPath::parse(" members ").unwrap().attr, ap("members"));
}

#[test]
fn patch_path_errors() {
    let kind = |s: &str| parse_patch_path(s).unwrap_err().scim_type.unwrap();
    for bad in [
        "",
        "a.b.c",
        r#"name.givenName[givenName eq "x"]"#,
        r#"emails[type eq "work""#,
        r#"emails[type eq "work"]."#,
        r#"emails[type eq "work"]value"#,
        r#"emails[type eq "work"].value.x"#,
        r#"emails[type eq "work"] x"#,
        "emails x",
        "emails]",
    ] {
        assert_eq!(kind(bad), ScimType::InvalidPath, "{bad:?}");
    }
    for bad in [
        "emails[]",
        r#"emails[type eqq "work"]"#,
        r#"emails[type eq work]"#,
        r#"emails[type eq "work]"#,
        r#"emails[addresses[type pr]]"#,
    ] {
        assert_eq!(kind(bad), ScimType::InvalidFilter, "{bad:?}");
    }
    let e = parse_patch_path(r#"emails[type eqq "work"]"#).unwrap_err();
    assert!(e.detail.contains("position 13"), "{}", e.detail);
}

// ---- evaluation -------------------------------------------------------------------

#[test]
fn eq_is_case_insensitive_unless_case_exact() {
    assert!(m(r#"userName eq "bjensen""#));
    assert!(m(r#"userName eq "BJensen""#));
    assert!(
        m(r#"USERNAME eq "bjensen""#),
        "attribute names resolve case-insensitively"
    );
    assert!(!m(r#"userName eq "bjense""#));
    assert!(m(r#"code eq "AbC""#));
    assert!(!m(r#"code eq "abc""#), "caseExact");
    assert!(m(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
    assert!(
        !m(r#"id eq "2819C223-7F76-453A-919D-413861904646""#),
        "id is caseExact"
    );
    assert!(m(r#"externalId eq "BJ-1""#));
    assert!(!m(r#"externalId eq "bj-1""#), "externalId is caseExact");
}

#[test]
fn non_ascii_strings_fold_with_unicode_lowercase() {
    assert!(m(r#"displayName eq "Zoë Ångström""#));
    assert!(m(r#"displayName eq "ZOË ÅNGSTRÖM""#));
    assert!(m(r#"displayName eq "zo\u00cb \u00e5ngstr\u00f6m""#));
    assert!(m(r#"displayName sw "ZOË""#));
    assert!(m(r#"displayName co "ångs""#));
    assert_eq!(fold("ZOË ÅNGSTRÖM"), "zoë ångström");
    assert_eq!(fold("İ"), "i\u{307}");
}

#[test]
fn string_operators() {
    assert!(m(r#"userName co "jens""#));
    assert!(m(r#"userName sw "BJ""#));
    assert!(m(r#"userName ew "SEN""#));
    assert!(!m(r#"userName sw "jensen""#));
    assert!(!m(r#"userName ew "bj""#));
    assert!(m(r#"userName co """#));
    assert!(m(r#"userName gt "a""#));
    assert!(m(r#"userName gt "BA""#), "folded before ordering");
    assert!(m(r#"userName ge "bjensen""#));
    assert!(m(r#"userName le "BJENSEN""#));
    assert!(!m(r#"userName lt "bjensen""#));
    assert!(m(r#"userName lt "c""#));
    assert!(!m(r#"code co "abc""#), "caseExact co");
    assert!(m(r#"code co "bC""#));
    assert!(m(r#"profileUrl sw "https://EXAMPLE""#));
    assert!(
        !m(r#"userName eq 5"#),
        "number literal against a string attribute"
    );
    assert!(!m(r#"userName co 5"#));
}

#[test]
fn ne_is_not_eq_and_true_when_absent() {
    assert!(m(r#"userName ne "x""#));
    assert!(!m(r#"userName ne "BJENSEN""#));
    assert!(m(r#"title ne "x""#), "absent");
    assert!(!m(r#"title eq "x""#), "absent");
    assert!(!m(r#"title co "x""#));
    assert!(!m(r#"title gt "a""#));
    // Multi-valued: ne means no value equals.
    assert!(!m(r#"emails.type ne "work""#));
    assert!(m(r#"emails.type ne "other""#));
    assert!(m(r#"not (emails.type eq "other")"#));
    // Unknown attributes match nothing, not even ne.
    assert!(!m(r#"nope ne "x""#));
    assert!(!m(r#"nope pr"#));
    assert!(!m(r#"name.nope eq "x""#));
    assert!(!m(r#"urn:unknown:schema:nope eq "x""#));
}

#[test]
fn multi_valued_any_semantics() {
    assert!(m(r#"emails.value co "jensen.org""#));
    assert!(m(r#"emails.value ew "@EXAMPLE.COM""#));
    assert!(
        m(r#"emails co "jensen.org""#),
        "complex multi-valued compares value"
    );
    assert!(m(r#"emails eq "babs@jensen.org""#));
    assert!(m(r#"emails.type eq "home""#));
    assert!(m(r#"emails.primary eq true"#));
    assert!(m(r#"tags eq "blue""#));
    assert!(m(r#"tags eq "GREEN""#));
    assert!(!m(r#"tags eq "red""#));
    assert!(m(r#"tags sw "bl""#));
}

#[test]
fn value_path_requires_one_element_to_match_everything() {
    assert!(m(r#"emails[type eq "work" and value co "@example.com"]"#));
    assert!(!m(r#"emails[type eq "work" and value co "@jensen.org"]"#));
    // ...whereas separate paths may match different elements.
    assert!(m(
        r#"emails.type eq "work" and emails.value co "@jensen.org""#
    ));
    assert!(m(r#"emails[type eq "home" or primary eq true]"#));
    assert!(m(r#"emails[not (type eq "work")]"#));
    assert!(m(r#"emails[type eq "home"].value ew "jensen.org""#));
    assert!(!m(r#"emails[type eq "work"].value ew "jensen.org""#));
    assert!(m(r#"userName eq "bjensen" and emails[primary eq "True"]"#));
    assert!(!m(r#"addresses[type eq "work"]"#), "empty array");
    assert!(!m(r#"phoneNumbers[type eq "work"]"#), "unknown");
    assert!(
        m(r#"name[givenName eq "barbara"]"#),
        "single-valued complex"
    );
    assert!(
        m(r#"tags[value eq "blue"]"#),
        "simple multi-valued: value is the item"
    );
    assert!(!m(r#"tags[value eq "red"]"#));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#
    ));
}

#[test]
fn extension_and_urn_paths() {
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
    ));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "ENG""#
    ));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#
    ));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#
    ));
    assert!(m(
        r#"URN:IETF:params:scim:schemas:extension:enterprise:2.0:user:Manager.DisplayName sw "john""#
    ));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr"#
    ));
    assert!(!m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr"#
    ));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#
    ));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "jensen""#
    ));
    assert!(m(&format!("{CUSTOM}:level gt 6")));
    assert!(
        !m(r#"department eq "Eng""#),
        "extension attributes need their URN"
    );
    // Extension container absent: attribute absent.
    let doc = json!({"userName": "x"});
    assert!(m_doc(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ne "Eng""#,
        doc.clone()
    ));
    assert!(!m_doc(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#,
        doc
    ));
}

#[test]
fn common_attributes_id_external_id_meta() {
    assert!(m(r#"meta.resourceType eq "User""#));
    assert!(!m(r#"meta.resourceType eq "user""#), "caseExact");
    assert!(m(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
    assert!(!m(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
    assert!(m(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
    assert!(m(r#"meta.created lt "2011-01-01T00:00:00Z""#));
    assert!(m(r#"meta.version eq "W/\"a330bc54f0671c9\"""#));
    assert!(m(r#"meta pr"#));
    assert!(m(r#"urn:ietf:params:scim:schemas:core:2.0:User:id pr"#));
    assert!(!m(r#"meta.location pr"#));
}

#[test]
fn date_times_compare_as_instants() {
    assert!(m(r#"birthday eq "1980-04-01T12:00:00Z""#));
    assert!(
        m(r#"birthday eq "1980-04-01T14:00:00+02:00""#),
        "same instant"
    );
    assert!(m(r#"birthday eq "1980-04-01T12:00:00.000Z""#));
    assert!(m(r#"birthday gt "1980-04-01T13:00:00+02:00""#));
    assert!(m(r#"birthday lt "1980-04-01T13:00:00Z""#));
    assert!(m(r#"birthday le "1980-04-01T12:00:00Z""#));
    assert!(!m(r#"birthday gt "1980-04-01T12:00:00Z""#));
    // Text fallback when a side is not RFC 3339.
    assert!(m(r#"birthday gt "1980""#));
    assert!(m(r#"birthday sw "1980-04""#));
    assert!(!m(r#"birthday eq "1980-04-01""#));
    assert!(m_doc(
        r#"birthday lt "2000""#,
        json!({"birthday": "1999-12-31"})
    ));
    assert!(!m(r#"birthday eq 1980"#));
}

#[test]
fn booleans_including_entra_strings() {
    assert!(m("active eq true"));
    assert!(!m("active eq false"));
    assert!(m(r#"active eq "True""#));
    assert!(m(r#"active eq "TRUE""#));
    assert!(!m(r#"active eq "False""#));
    assert!(m(r#"active ne "false""#));
    assert!(!m(r#"active eq "yes""#));
    assert!(!m(r#"active gt false"#));
    assert!(!m(r#"active co "t""#));
    assert!(
        m_doc("active eq false", json!({"active": "False"})),
        "lenient document value"
    );
    assert!(m_doc("active ne true", json!({"userName": "x"})), "absent");
    assert!(
        !m_doc("active eq false", json!({"userName": "x"})),
        "absent is not false"
    );
}

#[test]
fn numbers_compare_numerically() {
    for (filter, matches) in [
        ("age eq 42", true),
        ("age eq 42.0", true),
        ("age gt 41.5", true),
        ("age lt 100", true),
        ("age ge 42", true),
        ("age le 42", true),
        ("age gt 42", false),
        ("score gt 3", true),
        ("score eq 3.5", true),
        ("score eq 35e-1", true),
        // A string literal against a number.
        (r#"age eq "42""#, false),
        (r#"age co 4"#, false),
    ] {
        assert_eq!(m(filter), matches, "{filter}");
    }
    assert!(m_doc("age lt 18446744073709551615", json!({"age": -1})));
    assert!(m_doc(
        "age gt -9223372036854775808",
        json!({"age": 18446744073709551615u64})
    ));
}

#[test]
fn null_and_presence() {
    assert!(m("title eq null"), "absent");
    assert!(m("nickName eq null"), "empty string");
    assert!(m("addresses eq null"), "empty array");
    assert!(!m("userName eq null"));
    assert!(m("userName ne null"));
    assert!(!m("title ne null"));
    assert!(!m("title gt null"));
    assert!(m("userName pr"));
    assert!(!m("title pr"));
    assert!(!m("nickName pr"));
    assert!(!m("addresses pr"));
    assert!(m("emails pr"));
    assert!(m("emails.primary pr"));
    assert!(m("name pr"));
    assert!(m("name.givenName pr"));
    assert!(!m("name.formatted pr"));
    assert!(m("active pr"));
    let doc =
        json!({"title": null, "emails": [{}], "name": {"givenName": null}, "tags": [null, ""]});
    for f in [
        "title pr",
        "emails pr",
        "emails.value pr",
        "name pr",
        "tags pr",
        "name.givenName pr",
    ] {
        assert!(!m_doc(f, doc.clone()), "{f}");
    }
    assert!(m_doc("emails eq null", doc.clone()));
    assert!(m_doc("active eq null", doc));
}

#[test]
fn logical_combinations() {
    assert!(m(r#"userName eq "x" or userName eq "bjensen""#));
    assert!(!m(r#"userName eq "x" and userName eq "bjensen""#));
    assert!(m(r#"not (userName eq "x")"#));
    assert!(!m(r#"not (userName eq "bjensen")"#));
    // a or b and c = a or (b and c): true or (false and false).
    assert!(m(r#"userName pr or title pr and nickName pr"#));
    assert!(!m(r#"(userName pr or title pr) and nickName pr"#));
}

#[test]
fn document_keys_are_case_insensitive() {
    let doc = json!({"USERNAME": "bjensen", "Emails": [{"Value": "a@x", "TYPE": "work"}],
            "URN:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "Eng"}});
    assert!(m_doc(r#"userName eq "bjensen""#, doc.clone()));
    assert!(m_doc(
        r#"emails[type eq "work" and value eq "A@X"]"#,
        doc.clone()
    ));
    assert!(m_doc(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "eng""#,
        doc
    ));
}

#[test]
fn element_matching() {
    let schema = test_schema();
    let emails = schema.core.attr("emails").unwrap();
    let work = json!({"value": "a@x", "type": "Work", "primary": true});
    let f = p(r#"type eq "work" and primary eq true"#);
    assert!(matches_element(&f, &work, emails));
    assert!(!matches_element(&p(r#"type eq "home""#), &work, emails));
    assert!(matches_element(&p(r#"value ew "@X""#), &work, emails));
    assert!(!matches_element(&p(r#"nope pr"#), &work, emails));
    assert!(
        !matches_element(&p(r#"emails[type pr]"#), &work, emails),
        "nested valuePath"
    );
    let members = schema.core.attr("members").unwrap();
    let m1 = json!({"value": "ABC", "$ref": "https://x/Users/ABC"});
    assert!(matches_element(&p(r#"value eq "ABC""#), &m1, members));
    assert!(
        !matches_element(&p(r#"value eq "abc""#), &m1, members),
        "caseExact value"
    );
    assert!(matches_element(&p(r#"$ref ew "/ABC""#), &m1, members));
    let tags = schema.core.attr("tags").unwrap();
    assert!(matches_element(
        &p(r#"value eq "BLUE""#),
        &json!("blue"),
        tags
    ));
    assert!(!matches_element(&p(r#"type eq "x""#), &json!("blue"), tags));
    // A PATCH path's filter evaluated against each element.
    let pp = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
    let doc = bjensen();
    let hits: Vec<_> = doc["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| matches_element(pp.filter.as_ref().unwrap(), e, emails))
        .collect();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["value"], "bjensen@example.com");
}

// ---- validation -------------------------------------------------------------------

#[test]
fn validate_accepts_known_paths() {
    let schema = test_schema();
    for ok in [
        r#"userName eq "x""#,
        r#"USERNAME eq "x""#,
        "id pr",
        r#"externalId eq "x""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"emails eq "x""#,
        r#"emails[type eq "work" and value co "@x"]"#,
        r#"name[givenName eq "x"]"#,
        r#"tags[value eq "x"]"#,
        "name eq null",
        "name pr",
        r#"active eq "True""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "x""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:meta.created pr"#,
        "age gt 3",
        r#"birthday lt "2000-01-01T00:00:00Z""#,
        r#"members.$ref pr"#,
    ] {
        validate(&p(ok), &schema).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn validate_rejects() {
    let schema = test_schema();
    let v = |s: &str| {
        let e = validate(&p(s), &schema).expect_err(s);
        assert_eq!(e.status, 400);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        e.detail
    };
    assert_eq!(v(r#"foo eq "x""#), "unknown attribute 'foo' in filter");
    assert_eq!(
        v(r#"userName eq "x" and not (name.middle pr)"#),
        "unknown attribute 'name.middle' in filter"
    );
    assert!(v(r#"department eq "x""#).contains("unknown attribute 'department'"));
    assert!(v(r#"urn:nope:x:department eq "x""#).contains("unknown attribute"));
    assert!(v(r#"emails[kind eq "x"]"#).contains("unknown sub-attribute 'kind' of 'emails'"));
    assert!(v(r#"userName[value eq "x"]"#).contains("multi-valued or complex"));
    assert!(v("active gt true").contains("boolean"));
    assert!(v("emails.primary le false").contains("boolean"));
    assert!(v(r#"photo lt "x""#).contains("binary"));
    assert!(v(r#"emails gt "a""#).contains("complex"));
    assert!(v(r#"name eq "x""#).contains("cannot be compared directly"));
    assert!(v(r#"meta eq "x""#).contains("cannot be compared directly"));
    assert!(v("title co null").contains("'null'"));
    let nested = Filter::ValuePath {
        attr: ap("emails"),
        filter: Box::new(Filter::ValuePath {
            attr: ap("addresses"),
            filter: Box::new(pr("type")),
        }),
    };
    assert!(validate(&nested, &schema)
        .unwrap_err()
        .detail
        .contains("nested"));
    let emails = schema.core.attr("emails").unwrap();
    validate_value_filter(&p(r#"type eq "work""#), emails).unwrap();
    assert!(validate_value_filter(&p(r#"kind eq "work""#), emails).is_err());
    assert!(validate_value_filter(&p("primary gt true"), emails).is_err());
}

// ---- Display ----------------------------------------------------------------------

#[test]
fn display_is_canonical() {
    let d = |s: &str| p(s).to_string();
    assert_eq!(d(r#"userName  EQ   "bjensen""#), r#"userName eq "bjensen""#);
    assert_eq!(d("a pr or b pr and c pr"), "a pr or b pr and c pr");
    assert_eq!(d("(a pr or b pr) and c pr"), "(a pr or b pr) and c pr");
    assert_eq!(d("a pr or (b pr or c pr)"), "a pr or (b pr or c pr)");
    assert_eq!(d("(a pr or b pr) or c pr"), "a pr or b pr or c pr");
    assert_eq!(d("not(a pr)"), "not (a pr)");
    assert_eq!(
        d(r#"emails[type eq "work"].value pr"#),
        r#"emails[type eq "work" and value pr]"#
    );
    assert_eq!(d(r#"t eq "a\"\\\u00e9\n\/""#), r#"t eq "a\"\\é\n/""#);
    assert_eq!(d("n eq -1.5e3"), "n eq -1500.0");
    assert_eq!(
        d(r#"urn:a:b:2.0:X:m.value eq NULL"#),
        "urn:a:b:2.0:X:m.value eq null"
    );
    assert_eq!(CompValue::String("\u{1}".into()).to_string(), r#""\u0001""#);
    for s in [
        r#"userName eq "x""#,
        "(a pr or b pr) and not (c pr)",
        r#"emails[type eq "work" or not (value co "x")] and d pr"#,
    ] {
        assert_eq!(p(&d(s)), p(s));
    }
}

// ---- real core schemas (schema.rs) ------------------------------------------------

#[test]
fn with_core_user_and_group_schemas() {
    let user = crate::schema::user_resource_schema(Vec::new());
    let doc = bjensen();
    for (f, expected) in [
        (r#"userName eq "BJENSEN""#, true),
        (r#"name.familyName co "ens""#, true),
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "home" and value co "@example.com"]"#,
            false,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            true,
        ),
        (r#"active eq "True""#, true),
        (r#"meta.lastModified gt "2011-01-01T00:00:00Z""#, true),
        (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
        (r#"title pr"#, false),
    ] {
        let filter = p(f);
        validate(&filter, &user).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(matches(&filter, &doc, &user), expected, "{f}");
    }
    assert!(validate(&p("active gt true"), &user).is_err());
    assert!(validate(&p(r#"foo eq "x""#), &user).is_err());
    assert!(validate(&p(r#"userName[value eq "x"]"#), &user).is_err());

    let group = crate::schema::group_resource_schema();
    let g = json!({"displayName": "Admins", "members": [{"value": "u1"}, {"value": "u2"}]});
    for (f, expected) in [
        (r#"displayName eq "admins""#, true),
        (r#"members eq "u2""#, true),
        (r#"members[value eq "u1"]"#, true),
        (r#"members.value eq "u3""#, false),
    ] {
        let filter = p(f);
        validate(&filter, &group).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(matches(&filter, &g, &group), expected, "{f}");
    }
}

// ---- property tests ---------------------------------------------------------------

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}".prop_filter("reserved", |s| !s.eq_ignore_ascii_case("not")),
        1 => Just("$ref".to_string()),
    ]
}

fn path_strategy(with_sub: bool) -> impl Strategy<Value = AttrPath> {
    let uri = proptest::option::weighted(0.3, "urn:[a-z]{1,6}(:[a-zA-Z0-9.-]{1,6}){0,4}");
    let sub = if with_sub {
        proptest::option::weighted(0.3, name_strategy()).boxed()
    } else {
        Just(None).boxed()
    };
    (uri, name_strategy(), sub).prop_map(|(uri, attr, sub_attr)| AttrPath {
        uri,
        attr,
        sub_attr,
    })
}

fn value_strategy() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::String),
    ]
}

fn leaf_strategy() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (
            path_strategy(true),
            proptest::sample::select(CompareOp::ALL.to_vec()),
            value_strategy()
        )
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        path_strategy(true).prop_map(Filter::Present),
    ]
}

fn combine(inner: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
        (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
        inner.prop_map(not),
    ]
}

fn value_filter_strategy() -> impl Strategy<Value = Filter> {
    leaf_strategy().prop_recursive(4, 24, 2, |inner| combine(inner.boxed()))
}

fn filter_strategy() -> impl Strategy<Value = Filter> {
    let base = prop_oneof![
        3 => leaf_strategy(),
        1 => (path_strategy(false), value_filter_strategy())
            .prop_map(|(attr, f)| Filter::ValuePath { attr, filter: Box::new(f) }),
    ];
    base.prop_recursive(4, 32, 2, |inner| combine(inner.boxed()))
}

/// Whatever parses re-parses from its Display to the same AST, and evaluates without
/// panicking.
fn check_accepted(input: &str) -> Result<(), TestCaseError> {
    match parse(input) {
        Ok(f) => {
            let shown = f.to_string();
            let again =
                parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown:?}: {e}")))?;
            prop_assert_eq!(&again, &f, "display {:?}", shown);
            let schema = test_schema();
            let _ = matches(&f, &bjensen(), &schema);
            let _ = validate(&f, &schema);
        }
        Err(e) => {
            prop_assert_eq!(e.status, 400);
            prop_assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
            prop_assert!(e.detail.starts_with("invalid filter"), "{}", e.detail);
        }
    }
    let _ = parse_patch_path(input);
    let _ = parse_attr_path(input);
    Ok(())
}

#[test]
fn seeds_parse() {
    for s in SEEDS {
        p(s);
        check_accepted(s).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_strings(s in any::<String>()) {
        check_accepted(&s)?;
    }

    #[test]
    fn never_panics_on_filterish_strings(s in r#"[a-zA-Z0-9 ()\[\]".:$\\/_ée\t-]{0,80}"#) {
        check_accepted(&s)?;
    }

    #[test]
    fn never_panics_on_mutated_filters(
        seed in proptest::sample::select(SEEDS.to_vec()),
        muts in proptest::collection::vec(mutation(), 1..4),
    ) {
        check_accepted(&mutate(seed, &muts))?;
    }

    #[test]
    fn display_round_trips(f in filter_strategy()) {
        let shown = f.to_string();
        let parsed = parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown:?}: {e}")))?;
        prop_assert_eq!(parsed, f, "display {:?}", shown);
    }

    #[test]
    fn attr_path_display_round_trips(path in path_strategy(true)) {
        prop_assert_eq!(parse_attr_path(&path.to_string())?, path);
    }
}

#[test]
fn identifiers_compare_by_their_nfc_key() {
    use crate::canonical::identifier_key;
    use crate::schema::{group_resource_schema, user_resource_schema};
    let nfc = "Jos\u{e9}";
    let nfd = "Jose\u{301}";
    assert_ne!(nfc, nfd);
    assert_eq!(identifier_key(nfc, false), identifier_key(nfd, false));
    assert_eq!(identifier_key(nfd, false), "jos\u{e9}");
    assert_eq!(
        identifier_key(nfd, true),
        "Jos\u{e9}",
        "caseExact: NFC only"
    );
    let users = user_resource_schema(vec![]);
    let doc = json!({ "userName": nfd, "externalId": nfd, "displayName": nfd });
    let hit = |f: String| matches(&p(&f), &doc, &users);
    assert!(hit(format!(r#"userName eq "{nfc}""#)));
    assert!(hit("userName eq \"JOS\u{c9}\"".to_string()));
    assert!(hit(format!(r#"externalId eq "{nfc}""#)));
    assert!(
        !hit(r#"externalId eq "jos\u00e9""#.to_string()),
        "externalId is caseExact"
    );
    assert!(
        !hit(format!(r#"displayName eq "{nfc}""#)),
        "a User's displayName is not an identifier"
    );
    let group = json!({ "displayName": nfc });
    assert!(matches(
        &p(&format!(r#"displayName eq "{nfd}""#)),
        &group,
        &group_resource_schema()
    ));
}
