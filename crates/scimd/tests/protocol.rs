//! RFC 7643 / RFC 7644 behaviour of `scimd serve` over HTTP: discovery, filters, lists,
//! projection, search, uniqueness, versioning, content types, errors and input handling.
//!
//! Tests share one server (started lazily); each works on its own uniquely named users and
//! groups and scopes its filters to them.

mod common;

use common::*;
use reqwest::header::{IF_MATCH, IF_NONE_MATCH};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn client() -> Client {
    Server::shared().client()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn attr<'a>(attrs: &'a Value, name: &str) -> &'a Value {
    attrs
        .as_array()
        .and_then(|a| {
            a.iter().find(|x| {
                x["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
        })
        .unwrap_or_else(|| panic!("attribute {name} missing from {attrs}"))
}

fn sub_names(a: &Value) -> BTreeSet<String> {
    a["subAttributes"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|x| x["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn service_provider_config_is_truthful() {
    let c = client();
    let r = c.get_ok("/ServiceProviderConfig").await;
    let s = r.json();
    assert_eq!(
        s["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(s["patch"]["supported"], json!(true));
    assert_eq!(s["filter"]["supported"], json!(true));
    let max = s["filter"]["maxResults"]
        .as_u64()
        .expect("filter.maxResults is an integer");
    assert!(max >= 100, "maxResults {max}");
    assert_eq!(s["sort"]["supported"], json!(true));
    assert_eq!(s["etag"]["supported"], json!(true));
    assert_eq!(s["changePassword"]["supported"], json!(false));
    assert_eq!(s["bulk"]["supported"], json!(false));
    let schemes = s["authenticationSchemes"]
        .as_array()
        .expect("authenticationSchemes");
    assert!(
        schemes
            .iter()
            .any(|a| a["type"] == json!("oauthbearertoken")),
        "{s}"
    );
    // Bulk is not offered, and says so.
    c.post(
        "/Bulk",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}),
    )
    .await
    .expect_error(501, None);
    // Discovery endpoints take no filter (RFC 7644 §4: 403).
    for p in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
        c.get(&format!("{p}?filter={}", enc("id eq \"x\"")))
            .await
            .expect_error(403, None);
    }
    // Without a token too (RFC 7644 §4: discovery is for clients that have not authenticated yet) —
    // at least it must not be a 500; and with a token the body is the same.
    let anon = Server::shared()
        .client_with(None)
        .get("/ServiceProviderConfig")
        .await;
    assert!(anon.status == 200 || anon.status == 401, "{}", anon.text);
    if anon.status == 200 {
        assert_eq!(anon.json(), s);
    }
}

#[tokio::test]
async fn schemas_publish_the_whole_core_user_group_and_enterprise() {
    let c = client();
    let list = discovery_list(&c, "/Schemas").await;
    let by_id = |id: &str| -> Value {
        list.iter()
            .find(|s| s["id"] == json!(id))
            .cloned()
            .unwrap_or_else(|| panic!("schema {id} not listed in /Schemas"))
    };
    let user = by_id(USER);
    let group = by_id(GROUP);
    let ent = by_id(ENTERPRISE);
    for s in [&user, &group, &ent] {
        assert_eq!(
            s["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]),
            "{s}"
        );
        assert!(s["name"].is_string(), "{s}");
        if let Some(m) = s.get("meta") {
            assert_eq!(m["resourceType"], json!("Schema"));
        }
    }
    assert_eq!(user["name"], json!("User"));
    assert_eq!(group["name"], json!("Group"));
    let ua = &user["attributes"];
    // Every attribute of RFC 7643 §4.1: the singular ones (§4.1.1), then the multi-valued
    // ones (§4.1.2).
    let rfc_attributes = "userName name displayName nickName profileUrl title userType \
        preferredLanguage locale timezone active password \
        emails phoneNumbers ims photos addresses groups entitlements roles x509Certificates";
    assert_eq!(
        rfc_attributes.split_whitespace().count(),
        21,
        "RFC 7643 §4.1 has 21"
    );
    for n in rfc_attributes.split_whitespace() {
        attr(ua, n);
    }
    assert_eq!(
        sub_names(attr(ua, "name")),
        "formatted familyName givenName middleName honorificPrefix honorificSuffix"
            .split_whitespace()
            .map(String::from)
            .collect()
    );
    let address_subs: BTreeSet<String> = address_parts()
        .into_iter()
        .chain(["type", "primary"].map(String::from))
        .collect();
    assert!(sub_names(attr(ua, "addresses")).is_superset(&address_subs));
    for mv in
        "emails phoneNumbers ims photos entitlements roles x509Certificates".split_whitespace()
    {
        let a = attr(ua, mv);
        assert_eq!(a["multiValued"], json!(true), "{mv}");
        assert_eq!(a["type"], json!("complex"), "{mv}");
        assert!(sub_names(a).contains("value"), "{mv}: {a}");
    }
    let un = attr(ua, "userName");
    assert_eq!(un["required"], json!(true));
    assert_eq!(un["uniqueness"], json!("server"));
    assert_eq!(un["caseExact"], json!(false));
    let pw = attr(ua, "password");
    assert_eq!(pw["returned"], json!("never"));
    assert_eq!(pw["mutability"], json!("writeOnly"));
    assert_eq!(attr(ua, "groups")["mutability"], json!("readOnly"));
    assert_eq!(attr(ua, "active")["type"], json!("boolean"));
    // Enterprise extension (RFC 7643 §4.3).
    let ea = &ent["attributes"];
    for n in [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    ] {
        attr(ea, n);
    }
    assert!(sub_names(attr(ea, "manager")).is_superset(&set(&["value", "$ref", "displayName"])));
    // Group (RFC 7643 §4.2).
    let ga = &group["attributes"];
    attr(ga, "displayName");
    let members = attr(ga, "members");
    assert_eq!(members["multiValued"], json!(true));
    assert!(sub_names(members).is_superset(&set(&["value", "$ref"])));

    // Each one by URN.
    for (id, s) in [(USER, &user), (GROUP, &group), (ENTERPRISE, &ent)] {
        let r = c.get_ok(&format!("/Schemas/{id}")).await;
        assert_eq!(r.json(), s, "/Schemas/{id} equals its /Schemas entry");
    }
    c.get("/Schemas/urn:example:no:such:schema")
        .await
        .expect_error(404, None);
}

#[tokio::test]
async fn resource_types_describe_users_and_groups() {
    let c = client();
    let list = discovery_list(&c, "/ResourceTypes").await;
    let user = list
        .iter()
        .find(|t| t["id"] == json!("User") || t["name"] == json!("User"))
        .expect("User resource type")
        .clone();
    let group = list
        .iter()
        .find(|t| t["id"] == json!("Group") || t["name"] == json!("Group"))
        .expect("Group resource type")
        .clone();
    assert_eq!(
        user["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ResourceType"])
    );
    assert_eq!(user["endpoint"], json!("/Users"));
    assert_eq!(user["schema"], json!(USER));
    let ext = user["schemaExtensions"]
        .as_array()
        .expect("schemaExtensions");
    assert!(
        ext.iter()
            .any(|e| e["schema"] == json!(ENTERPRISE) && e["required"] == json!(false)),
        "{user}"
    );
    assert_eq!(group["endpoint"], json!("/Groups"));
    assert_eq!(group["schema"], json!(GROUP));
    let r = c.get_ok("/ResourceTypes/User").await;
    assert_eq!(r.json(), &user);
    let r = c.get_ok("/ResourceTypes/Group").await;
    assert_eq!(r.json(), &group);
    let r = c.get("/ResourceTypes/Printer").await;
    r.expect_error(404, None);
}

#[tokio::test]
async fn discovery_endpoints_refuse_writes_with_405() {
    let c = client();
    for path in [
        "/ServiceProviderConfig",
        "/Schemas",
        &format!("/Schemas/{USER}"),
        "/ResourceTypes",
        "/ResourceTypes/User",
    ] {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let r = c
                .send(c.json_req(m.clone(), path, &json!({"schemas": [USER]})))
                .await;
            r.expect_error(405, None);
            let _ = &r;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------

struct FilterSet {
    prefix: String,
    names: Vec<String>,
    ids: Vec<String>,
}

/// Five users with distinct attributes, all with userName `<prefix>-<name>`.
async fn filter_set(c: &Client) -> FilterSet {
    let prefix = unique("flt");
    let specs = vec![
        (
            "alice",
            json!({"displayName": "Alice Smith", "name": {"givenName": "Alice", "familyName": "Smith"}, "title": "Engineer",
                   "nickName": "Al", "userType": "Employee",
                   "emails": [{"type": "work", "value": "alice@x.example", "primary": true}, {"type": "home", "value": "alice@home.example"}],
                   "schemas": [USER, ENTERPRISE], ENTERPRISE: {"department": "R&D", "employeeNumber": "100"}}),
        ),
        (
            "bob",
            json!({"displayName": "Bob \"The Builder\" Jones", "title": "Manager", "active": false, "userType": "Contractor",
                   "emails": [{"type": "work", "value": "bob@y.example"}],
                   "schemas": [USER, ENTERPRISE], ENTERPRISE: {"department": "Sales"}}),
        ),
        (
            "carol",
            json!({"displayName": "Zoë Ångström", "nickName": "C\\D",
                   "emails": [{"type": "work", "value": "carol@x.example"}],
                   "schemas": [USER, ENTERPRISE], ENTERPRISE: {"department": "R&D"}}),
        ),
        (
            "dave",
            json!({"displayName": "dave", "title": "engineer",
                   "emails": [{"type": "work", "value": "dave@z.example"}, {"type": "home", "value": "dave@x.example"}]}),
        ),
        (
            "eve",
            json!({"title": "Intern", "active": false, "externalId": "ext-eve",
                   "emails": [{"type": "work", "value": "eve@x.example"}]}),
        ),
    ];
    let mut names = vec![];
    let mut ids = vec![];
    for (n, mut extra) in specs {
        let user_name = format!("{prefix}-{n}");
        // Users are created active (a tenant may refuse to provision inactive users) and
        // disabled afterwards, as Entra ID does.
        let inactive = extra.as_object_mut().unwrap().remove("active") == Some(json!(false));
        let mut u = c.create_user(&user_name, extra).await;
        if inactive {
            let r = c
                .patch_ops(
                    &format!("/Users/{}", u["id"].as_str().unwrap()),
                    json!([{"op": "replace", "path": "active", "value": false}]),
                )
                .await;
            r.expect(200);
            u = r.json().clone();
            assert_eq!(u["active"], json!(false));
        }
        names.push(user_name);
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    FilterSet { prefix, names, ids }
}

impl FilterSet {
    fn expect(&self, idx: &[usize]) -> Vec<String> {
        sorted(
            &idx.iter()
                .map(|i| self.names[*i].clone())
                .collect::<Vec<_>>(),
        )
    }
}

#[tokio::test]
async fn filters_cover_the_whole_grammar() {
    let c = client();
    let fs = filter_set(&c).await;
    let p = &fs.prefix;
    let (a, b, cc, d, e) = (0usize, 1usize, 2usize, 3usize, 4usize);
    let cases: Vec<(String, Vec<usize>)> = vec![
        // comparison operators
        (r#"title eq "Engineer""#.into(), vec![a, d]),
        (format!(r#"userName ne "{p}-alice""#), vec![b, cc, d, e]),
        (r#"displayName co "Smith""#.into(), vec![a]),
        (format!(r#"userName sw "{p}-b""#), vec![b]),
        (r#"userName ew "-eve""#.into(), vec![e]),
        (r#"displayName pr"#.into(), vec![a, b, cc, d]),
        (r#"title gt "F""#.into(), vec![b, e]),
        (r#"title ge "Intern""#.into(), vec![b, e]),
        (r#"title lt "F""#.into(), vec![a, d]),
        (r#"title le "Engineer""#.into(), vec![a, d]),
        // booleans, also as strings
        (r#"active eq true"#.into(), vec![a, cc, d]),
        (r#"active eq false"#.into(), vec![b, e]),
        (r#"active eq "True""#.into(), vec![a, cc, d]),
        (r#"active eq "false""#.into(), vec![b, e]),
        (r#"active ne true"#.into(), vec![b, e]),
        // null
        (r#"title eq null"#.into(), vec![cc]),
        (r#"title ne null"#.into(), vec![a, b, d, e]),
        // logical operators, precedence and parentheses
        (r#"not (displayName pr)"#.into(), vec![e]),
        (
            r#"active eq false or title eq "Engineer" and displayName co "Smith""#.into(),
            vec![a, b, e],
        ),
        (
            r#"(active eq false or title eq "Engineer") and displayName co "Smith""#.into(),
            vec![a],
        ),
        (r#"not (active eq false) and title eq "Engineer""#.into(), vec![a, d]),
        (
            r#"title eq "Manager" or (title eq "Intern" and not (externalId pr))"#.into(),
            vec![b],
        ),
        (r#"((title eq "Manager")) or ((((nickName eq "Al"))))"#.into(), vec![a, b]),
        // valuePath, sub-attributes
        (r#"emails[type eq "work" and value co "@x.example"]"#.into(), vec![a, cc, e]),
        (r#"emails[type eq "home"]"#.into(), vec![a, d]),
        (r#"emails.value co "@x.example""#.into(), vec![a, cc, d, e]),
        (r#"emails[type eq "work"].value ew "@x.example""#.into(), vec![a, cc, e]),
        (
            r#"emails[value eq "dave@x.example"] and emails[type eq "work" and value eq "dave@z.example"]"#.into(),
            vec![d],
        ),
        (r#"name.familyName eq "smith""#.into(), vec![a]),
        (r#"name.givenName pr"#.into(), vec![a, b, cc, d, e]),
        // URN-qualified paths
        (
            format!(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "{p}-alice""#),
            vec![a],
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "Smith""#.into(),
            vec![a],
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D""#.into(),
            vec![a, cc],
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr"#.into(),
            vec![a],
        ),
        // escapes and non-ASCII
        (r#"displayName eq "Bob \"The Builder\" Jones""#.into(), vec![b]),
        (r#"nickName eq "C\\D""#.into(), vec![cc]),
        (r#"displayName eq "ZOË ÅNGSTRÖM""#.into(), vec![cc]),
        (r#"displayName co "ngstr""#.into(), vec![cc]),
        // dateTime
        (r#"meta.lastModified gt "2000-01-01T00:00:00Z""#.into(), vec![a, b, cc, d, e]),
        (r#"meta.created ge "2000-01-01T00:00:00.000Z""#.into(), vec![a, b, cc, d, e]),
        (r#"meta.lastModified gt "2100-01-01T00:00:00Z""#.into(), vec![]),
        (r#"meta.created lt "2100-01-01T00:00:00+01:00""#.into(), vec![a, b, cc, d, e]),
        // case: keywords, attribute names, caseExact
        (format!(r#"USERNAME EQ "{}-ALICE""#, p.to_uppercase()), vec![a]),
        (r#"Title Eq "engineer" OR TITLE eq "INTERN""#.into(), vec![a, d, e]),
        (r#"externalId eq "ext-eve""#.into(), vec![e]),
        (r#"externalId eq "EXT-EVE""#.into(), vec![]),
        (format!(r#"id eq "{}""#, fs.ids[b]), vec![b]),
        (r#"userType eq "employee""#.into(), vec![a]),
    ];
    let mut failures = vec![];
    for (f, want) in &cases {
        let full = format!(r#"userName sw "{p}" and ({f})"#);
        let r = c
            .get(&format!("/Users?{}&count=100", filter_q(&full)))
            .await;
        if r.status != 200 {
            failures.push(format!("{f}: status {} {}", r.status, r.text));
            continue;
        }
        let got = sorted(
            &r.resources()
                .iter()
                .map(|u| u["userName"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
        );
        let want = fs.expect(want);
        if got != want || r.total() as usize != want.len() {
            failures.push(format!(
                "{f}: got {got:?} (totalResults {}), want {want:?}",
                r.total()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} filters wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn query_strings_are_form_decoded() {
    let c = client();
    let fs = filter_set(&c).await;
    let name = &fs.names[0];
    // `+` is a space; `%2B` is a plus.
    let r = c
        .get_ok(&format!("/Users?filter=userName+eq+%22{name}%22"))
        .await;
    assert_eq!(r.total(), 1);
    let f = format!(
        r#"userName sw "{}" and displayName eq "Bob \"The Builder\" Jones""#,
        fs.prefix
    );
    let r = c.get(&format!("/Users?filter={}", form_enc(&f))).await;
    assert_eq!(r.total(), 1, "{}", r.text);
    assert_eq!(r.resources()[0]["userName"], json!(fs.names[1]));
    let plus = c
        .create_user(&format!("{}+tag@example.com", unique("plus")), json!({}))
        .await;
    let un = plus["userName"].as_str().unwrap();
    let r = c
        .get_filtered("/Users", &format!("userName eq \"{un}\""))
        .await;
    assert_eq!(r.total(), 1, "%2B decodes to +: {}", r.text);
}

#[tokio::test]
async fn bad_filters_are_400_invalid_filter_never_500() {
    let c = client();
    let deep = format!("{}userName eq \"x\"{}", "(".repeat(5000), ")".repeat(5000));
    let long = format!("userName eq \"{}\"", "a".repeat(200_000));
    let many_ors = (0..3000)
        .map(|i| format!("userName eq \"u{i}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let bad = vec![
        r#"userName eq"#.to_string(),
        r#"userName eq "unterminated"#.to_string(),
        r#"(userName eq "x""#.to_string(),
        r#"userName eq "x")"#.to_string(),
        r#"userName xx "x""#.to_string(),
        r#"userName eq "x" and"#.to_string(),
        r#"and userName eq "x""#.to_string(),
        r#"emails[type eq "work""#.to_string(),
        r#"emails[type eq "work"]]"#.to_string(),
        r#"emails[]"#.to_string(),
        r#""just a string""#.to_string(),
        r#"userName eq "x" garbage"#.to_string(),
        r#"userName eq 'x'"#.to_string(),
        r#"userName eq x"#.to_string(),
        r#"userName pr "x""#.to_string(),
        r#"not userName eq "x""#.to_string(),
        r#"userName eq "bad \q escape""#.to_string(),
        r#"noSuchAttribute eq "x""#.to_string(),
        r#"emails[noSuchSub eq "x"]"#.to_string(),
        r#"name.noSuchSub eq "x""#.to_string(),
        r#"urn:example:unknown:2.0:User:foo eq "x""#.to_string(),
        deep,
    ];
    // Filters that are well-formed but odd: answered 200 with nothing widened, or refused
    // as invalidFilter; never a 500.
    let odd = vec![
        r#"meta.lastModified gt "not a date""#.to_string(),
        r#"active eq 12"#.to_string(),
        r#"userName gt 5"#.to_string(),
        "userName eq \"\u{0}\"".to_string(),
        r#"userName eq "\u0000""#.to_string(),
        r#"userName eq "%""#.to_string(),
        r#"userName co "_""#.to_string(),
        r#"userName sw "'; DROP TABLE users; --""#.to_string(),
    ];
    for f in &odd {
        let r = c
            .get_filtered("/Users", &format!("userName eq \"{}\" and ({f})", guid()))
            .await;
        let ok200 = r.status == 200 && r.total() == 0;
        let ok400 = r.status == 400
            && r.body
                .as_ref()
                .is_some_and(|b| b["scimType"] == json!("invalidFilter"));
        assert!(ok200 || ok400, "filter {f:?}: {} {}", r.status, r.text);
        let r = c.get(&format!("/Users?{}", filter_q(f))).await;
        assert!(
            r.status == 200 || r.status == 400,
            "filter {f:?}: {} {}",
            r.status,
            r.text
        );
        if r.status == 200 {
            // LIKE wildcards and quotes are literals: nothing matches these.
            assert_eq!(r.total(), 0, "filter {f:?} matched: {}", r.text);
        }
    }
    let mut failures = vec![];
    for f in &bad {
        for path in ["/Users", "/Groups"] {
            let r = c.get(&format!("{path}?{}", filter_q(f))).await;
            let ok = r.status == 400
                && r.body.as_ref().is_some_and(|b| {
                    b["scimType"] == json!("invalidFilter") && b["status"] == json!("400")
                });
            if !ok {
                let shown: String = f.chars().take(80).collect();
                failures.push(format!(
                    "GET {path} filter {shown:?}: {} {}",
                    r.status,
                    r.text.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "bad filters not refused with 400 invalidFilter:\n{}",
        failures.join("\n")
    );
    // Very long but valid filters are answered, or refused as a client error, never a 500.
    for f in [&long, &many_ors] {
        let r = c
            .send(c.json_req(
                Method::POST,
                "/Users/.search",
                &json!({"schemas": [SEARCH], "filter": f}),
            ))
            .await;
        assert!(
            r.status == 200 || r.status == 400 || r.status == 413,
            "long filter: {} {}",
            r.status,
            r.text.chars().take(300).collect::<String>()
        );
    }
    // The same check through .search.
    let r = c
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH], "filter": "userName eq"}),
        )
        .await;
    r.expect_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn empty_match_is_an_empty_list_response() {
    let c = client();
    for (resources, attr_op, more) in [
        ("/Users", "userName eq", ""),
        ("/Groups", "displayName eq", ""),
        ("/Users", "userName sw", "&startIndex=10&count=10"),
    ] {
        let filter = format!("{attr_op} \"{}\"", guid());
        let r = c
            .get_ok(&format!("{resources}?{}{more}", filter_q(&filter)))
            .await;
        assert_eq!(r.json()["schemas"], json!([LIST]));
        assert_eq!(r.total(), 0);
        assert!(r.resources().is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// List parameters, sorting, projection
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn list_parameters_are_clamped_and_sorted() {
    let c = client();
    let fs = filter_set(&c).await;
    let scope = filter_q(&format!("userName sw \"{}\"", fs.prefix));
    let get = |q: String| {
        let c = c.clone();
        async move { c.get_ok(&q).await }
    };
    // startIndex below 1 is read as 1.
    for si in ["0", "-1", "-100"] {
        let r = get(format!("/Users?{scope}&startIndex={si}&count=2")).await;
        assert_eq!(
            r.json()["startIndex"],
            json!(1),
            "startIndex={si}: {}",
            r.text
        );
        assert_eq!(r.resources().len(), 2);
        assert_eq!(r.total(), 5);
    }
    // count=0: totalResults only.
    for cnt in ["0", "-1", "-50"] {
        let r = get(format!("/Users?{scope}&count={cnt}")).await;
        assert_eq!(r.total(), 5, "count={cnt}");
        assert!(r.resources().is_empty(), "count={cnt}: {}", r.text);
        assert_eq!(r.json()["itemsPerPage"], json!(0));
    }
    // count above the maximum is clamped, not an error.
    let max = c.get("/ServiceProviderConfig").await.json()["filter"]["maxResults"]
        .as_u64()
        .unwrap();
    let r = get(format!("/Users?{scope}&count={}", max * 100)).await;
    assert_eq!(r.resources().len(), 5);
    let r = get(format!("/Users?count={}", max + 1)).await;
    assert!(
        r.json()["itemsPerPage"].as_u64().unwrap() <= max,
        "{}",
        r.json()["itemsPerPage"]
    );
    assert!(r.resources().len() as u64 <= max);
    // Parameter names are case-insensitive (RFC 7644 §3.4.2: "case insensitive").
    let r = get(format!("/Users?{scope}&COUNT=1&StartIndex=2")).await;
    assert_eq!(r.resources().len(), 1);
    assert_eq!(r.json()["startIndex"], json!(2));
    // Sorting.
    let names = |r: &Resp| {
        r.resources()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let asc = get(format!("/Users?{scope}&sortBy=userName")).await;
    assert_eq!(names(&asc), sorted(&fs.names));
    let desc = get(format!(
        "/Users?{scope}&sortBy=userName&sortOrder=descending"
    ))
    .await;
    let mut rev = sorted(&fs.names);
    rev.reverse();
    assert_eq!(names(&desc), rev);
    // Paging over a sorted list keeps the order.
    let p1 = get(format!(
        "/Users?{scope}&sortBy=userName&sortOrder=descending&startIndex=1&count=3"
    ))
    .await;
    let p2 = get(format!(
        "/Users?{scope}&sortBy=userName&sortOrder=descending&startIndex=4&count=3"
    ))
    .await;
    assert_eq!([names(&p1), names(&p2)].concat(), rev);
    // Sort by a sub-attribute and by a missing-in-some attribute: answered, all returned.
    let r = get(format!(
        "/Users?{scope}&sortBy=name.familyName&sortOrder=ascending"
    ))
    .await;
    assert_eq!(r.resources().len(), 5);
    let r = get(format!("/Users?{scope}&sortBy=title&sortOrder=descending")).await;
    let titles: Vec<Value> = r.resources().iter().map(|u| u["title"].clone()).collect();
    let present: Vec<String> = titles
        .iter()
        .filter_map(|t| t.as_str().map(str::to_lowercase))
        .collect();
    let mut want = present.clone();
    want.sort();
    want.reverse();
    assert_eq!(present, want, "descending by title: {titles:?}");
    // Bad values.
    for bad in ["sortOrder=sideways", "count=lots"] {
        let r = c.get(&format!("/Users?{scope}&{bad}")).await;
        r.expect_error(400, None);
    }
}

#[tokio::test]
async fn attributes_and_excluded_attributes_on_every_response() {
    let c = client();
    let name = unique("proj");
    let body = json!({
        "schemas": [USER, ENTERPRISE],
        "userName": name,
        "name": {"givenName": "Pro", "familyName": "Jection"},
        "title": "T",
        "emails": [{"type": "work", "value": "proj@example.com"}],
        ENTERPRISE: {"department": "D", "costCenter": "C"}
    });
    // POST with attributes.
    let r = c.post("/Users?attributes=userName", &body).await;
    r.expect(201);
    let id = r.id();
    assert_eq!(
        keys(r.json()),
        set(&["id", "schemas", "userName"]),
        "{}",
        r.text
    );
    // Location and ETag are still there.
    assert!(r.header("location").ends_with(&format!("/Users/{id}")));
    assert!(!r.header("etag").is_empty());
    // GET with attributes, sub-attributes and extension attributes.
    let r = c
        .get_ok(&format!("/Users/{id}?attributes=name.givenName,title"))
        .await;
    assert_eq!(
        keys(r.json()),
        set(&["id", "schemas", "name", "title"]),
        "{}",
        r.text
    );
    assert_eq!(r.json()["name"], json!({"givenName": "Pro"}));
    let r = c
        .get_ok(&format!(
            "/Users/{id}?attributes={}",
            enc(&format!("{ENTERPRISE}:department"))
        ))
        .await;
    assert_eq!(
        r.json()[ENTERPRISE],
        json!({"department": "D"}),
        "{}",
        r.text
    );
    assert_eq!(keys(r.json()), set(&["id", "schemas", ENTERPRISE]));
    // Attribute names are case-insensitive.
    let r = c.get(&format!("/Users/{id}?attributes=USERNAME")).await;
    assert_eq!(
        keys(r.json()),
        set(&["id", "schemas", "userName"]),
        "{}",
        r.text
    );
    // excludedAttributes.
    let r = c
        .get_ok(&format!(
            "/Users/{id}?excludedAttributes=emails,name,{ENTERPRISE}"
        ))
        .await;
    let k = keys(r.json());
    assert!(
        !k.contains("emails") && !k.contains("name") && !k.contains(ENTERPRISE),
        "{}",
        r.text
    );
    assert!(
        k.contains("userName") && k.contains("title") && k.contains("id") && k.contains("schemas")
    );
    // id and schemas cannot be excluded.
    let r = c
        .get(&format!(
            "/Users/{id}?excludedAttributes=id,schemas,userName"
        ))
        .await;
    let k = keys(r.json());
    assert!(k.contains("id") && k.contains("schemas"), "{}", r.text);
    // Lists.
    let r = c
        .get_ok(&format!(
            "/Users?{}&attributes=userName,emails.value",
            filter_q(&format!("userName eq \"{name}\""))
        ))
        .await;
    let u = &r.resources()[0];
    assert_eq!(
        keys(u),
        set(&["id", "schemas", "userName", "emails"]),
        "{u}"
    );
    assert_eq!(u["emails"], json!([{"value": "proj@example.com"}]));
    // PUT and PATCH responses.
    let mut put = body.clone();
    put["title"] = json!("T2");
    let r = c.put(&format!("/Users/{id}?attributes=title"), &put).await;
    r.expect(200);
    assert_eq!(
        keys(r.json()),
        set(&["id", "schemas", "title"]),
        "{}",
        r.text
    );
    assert_eq!(r.json()["title"], json!("T2"));
    let r = c
        .patch_ops(
            &format!("/Users/{id}?excludedAttributes=emails,name"),
            json!([{"op": "replace", "path": "title", "value": "T3"}]),
        )
        .await;
    r.expect(200);
    let k = keys(r.json());
    assert!(
        !k.contains("emails") && !k.contains("name") && k.contains("title"),
        "{}",
        r.text
    );
    // .search body takes attributes as an array.
    let r = c
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH], "filter": format!("userName eq \"{name}\""), "attributes": ["userName"]}),
        )
        .await;
    r.expect(200);
    assert_eq!(keys(&r.resources()[0]), set(&["id", "schemas", "userName"]));
    let r = c
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH], "filter": format!("userName eq \"{name}\""), "excludedAttributes": ["emails", "name"]}),
        )
        .await;
    r.expect(200);
    let k = keys(&r.resources()[0]);
    assert!(!k.contains("emails") && !k.contains("name") && k.contains("userName"));
    // Groups: excludedAttributes=members, attributes=displayName.
    let u2 = c.create_user(&unique("projm"), json!({})).await;
    let g = c
        .create_group(
            &unique("Proj Group"),
            json!({"members": [{"value": u2["id"]}]}),
        )
        .await;
    let gid = g["id"].as_str().unwrap();
    assert_eq!(
        g["members"].as_array().map(Vec::len),
        Some(1),
        "POST with members: {g}"
    );
    let r = c
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(!keys(r.json()).contains("members"));
    let r = c
        .get(&format!("/Groups/{gid}?attributes=displayName"))
        .await;
    assert_eq!(keys(r.json()), set(&["id", "schemas", "displayName"]));
    let r = c.get(&format!("/Groups/{gid}?attributes=members")).await;
    assert_eq!(keys(r.json()), set(&["id", "schemas", "members"]));
    let r = c
        .get_filtered_with(
            "/Groups",
            &format!("id eq \"{gid}\""),
            "&excludedAttributes=members",
        )
        .await;
    assert_eq!(r.total(), 1);
    assert!(!keys(&r.resources()[0]).contains("members"));
}

// ---------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn search_with_post_on_users_groups_and_root() {
    let c = client();
    let tag = unique("Search Tag");
    let u = c
        .create_user(&unique("srch"), json!({"displayName": tag}))
        .await;
    let g = c.create_group(&tag, json!({})).await;
    let tagged = format!("displayName eq \"{tag}\"");
    let paged = json!({"startIndex": 1, "count": 10, "sortBy": "userName"});
    for (path, params, found) in [
        ("/Users/.search", paged, &u),
        ("/Groups/.search", json!({}), &g),
    ] {
        let r = c.post(path, &search_request(&tagged, params)).await;
        r.expect(200);
        assert_eq!(r.json()["schemas"], json!([LIST]), "{path}");
        assert_eq!(r.total(), 1, "{path}");
        assert_eq!(r.resources()[0]["id"], found["id"], "{path}");
    }
    // Root search returns both resource types.
    let r = c
        .post("/.search", &search_request(&tagged, json!({})))
        .await;
    r.expect(200);
    assert_eq!(r.total(), 2, "{}", r.text);
    let types: BTreeSet<String> = r
        .resources()
        .iter()
        .map(|x| x["meta"]["resourceType"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, set(&["Group", "User"]));
    // count=0 via search.
    let r = c
        .post("/.search", &search_request(&tagged, json!({"count": 0})))
        .await;
    r.expect(200);
    assert_eq!(r.total(), 2);
    assert!(r.resources().is_empty());
    // A search body that is not JSON.
    let r = c
        .send_raw(
            Method::POST,
            "/Users/.search",
            "application/scim+json",
            "{not json",
        )
        .await;
    r.expect_error(400, Some("invalidSyntax"));
}

// ---------------------------------------------------------------------------------------
// Uniqueness
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn user_name_and_group_display_name_are_unique_ignoring_case() {
    let c = client();
    let name = format!("{}@Example.COM", unique("Uniq"));
    let u = c.create_user(&name, json!({})).await;
    let id = u["id"].as_str().unwrap();
    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": name.to_lowercase(), "name": {"givenName": "a", "familyName": "b"},
                    "emails": [{"type": "work", "value": "dup@example.com"}]}),
        )
        .await;
    r.expect_error(409, Some("uniqueness"));
    // Renaming another user onto it, by PATCH or PUT, is a conflict as well.
    let other = c.create_user(&unique("uniq-other"), json!({})).await;
    let other_path = format!("/Users/{}", other["id"].as_str().unwrap());
    let mut put = other.clone();
    put["userName"] = json!(name.to_uppercase());
    let rename = one_op_patch("replace", "userName", json!(name.to_uppercase()));
    each_is_a_uniqueness_conflict(
        &c,
        [
            (Method::PATCH, other_path.clone(), rename),
            (Method::PUT, other_path, put),
        ],
    )
    .await;
    // Changing the case of one's own userName is fine.
    let r = c
        .patch_op(
            &format!("/Users/{id}"),
            "replace",
            "userName",
            json!(name.to_uppercase()),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["userName"], json!(name.to_uppercase()));

    let gname = unique("Uniq Group");
    let g = c.create_group(&gname, json!({})).await;
    let g2 = c.create_group(&unique("Uniq Group 2"), json!({})).await;
    let g2_path = format!("/Groups/{}", g2["id"].as_str().unwrap());
    let lower = gname.to_lowercase();
    each_is_a_uniqueness_conflict(
        &c,
        [
            (
                Method::POST,
                "/Groups".to_string(),
                json!({"schemas": [GROUP], "displayName": gname.to_uppercase()}),
            ),
            (
                Method::PATCH,
                g2_path.clone(),
                one_op_patch("Replace", "displayName", json!(lower)),
            ),
            (
                Method::PUT,
                g2_path,
                json!({"schemas": [GROUP], "displayName": lower}),
            ),
        ],
    )
    .await;
    // The same group renaming itself in another case is fine.
    let gid = g["id"].as_str().unwrap();
    c.patch_op(
        &format!("/Groups/{gid}"),
        "Replace",
        "displayName",
        json!(gname.to_lowercase()),
    )
    .await
    .expect(204);
}

// ---------------------------------------------------------------------------------------
// Versioning
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn etags_if_match_and_if_none_match() {
    let c = client();
    let u = c.create_user(&unique("etag"), json!({"title": "v1"})).await;
    let id = u["id"].as_str().unwrap();
    let p = format!("/Users/{id}");
    let r = c.get_ok(&p).await;
    let v1 = r.header("etag");
    assert!(v1.starts_with("W/\"") || v1.starts_with('"'), "ETag {v1:?}");
    assert_eq!(r.json()["meta"]["version"], json!(v1));
    // If-None-Match with the current version: 304, no body.
    let r = c
        .send(c.req(Method::GET, &p).header(IF_NONE_MATCH, &v1))
        .await;
    assert_eq!(r.status, 304, "{}", r.text);
    assert!(r.text.is_empty());
    // A write changes the version.
    let r = c.patch_op(&p, "replace", "title", json!("v2")).await;
    r.expect(200);
    let v2 = r.header("etag");
    assert_ne!(v1, v2);
    assert_eq!(r.json()["meta"]["version"], json!(v2));
    // If-None-Match with a stale version: 200.
    c.send(c.req(Method::GET, &p).header(IF_NONE_MATCH, &v1))
        .await
        .expect(200);
    // Stale If-Match: 412 on PATCH, PUT and DELETE, and nothing changes.
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "stale"}]});
    c.send(c.json_req(Method::PATCH, &p, &patch).header(IF_MATCH, &v1))
        .await
        .expect_error(412, None);
    let mut put = u.clone();
    put["title"] = json!("stale");
    c.send(c.json_req(Method::PUT, &p, &put).header(IF_MATCH, &v1))
        .await
        .expect_error(412, None);
    c.send(c.req(Method::DELETE, &p).header(IF_MATCH, &v1))
        .await
        .expect_error(412, None);
    let r = c.get(&p).await;
    assert_eq!(r.json()["title"], json!("v2"));
    assert_eq!(r.header("etag"), v2);
    // Current If-Match: applied.
    let r = c
        .send(c.json_req(Method::PATCH, &p, &patch).header(IF_MATCH, &v2))
        .await;
    r.expect(200);
    let v3 = r.header("etag");
    let r = c
        .send(c.json_req(Method::PUT, &p, &put).header(IF_MATCH, &v3))
        .await;
    r.expect(200);
    let v4 = r.header("etag");
    assert_ne!(v3, v4);
    c.send(c.json_req(Method::PATCH, &p, &patch).header(IF_MATCH, "*"))
        .await
        .expect(200);
    let cur = c.get(&p).await.header("etag");
    c.send(c.req(Method::DELETE, &p).header(IF_MATCH, &cur))
        .await
        .expect(204);

    // Groups too, and list entries carry meta.version.
    let g = c.create_group(&unique("Etag Group"), json!({})).await;
    let gid = g["id"].as_str().unwrap();
    let gp = format!("/Groups/{gid}");
    let r = c.get(&gp).await;
    let gv = r.header("etag");
    assert_eq!(r.json()["meta"]["version"], json!(gv));
    let rename = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": unique("Etag Group B")}]});
    c.send(
        c.json_req(Method::PATCH, &gp, &rename)
            .header(IF_MATCH, &gv),
    )
    .await
    .expect(204);
    c.send(
        c.json_req(Method::PATCH, &gp, &rename)
            .header(IF_MATCH, &gv),
    )
    .await
    .expect_error(412, None);
    let r = c.get_filtered("/Groups", &format!("id eq \"{gid}\"")).await;
    assert!(r.resources()[0]["meta"]["version"].is_string());
    let r = c
        .send(
            c.req(Method::GET, &gp)
                .header(IF_NONE_MATCH, c.get(&gp).await.header("etag")),
        )
        .await;
    assert_eq!(r.status, 304);
}

// ---------------------------------------------------------------------------------------
// HTTP: content types, auth, errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn request_content_types_are_accepted() {
    let c = client();
    let accepted = [
        "application/scim+json",
        "application/json",
        "application/json; charset=utf-8",
        "application/scim+json; charset=UTF-8",
    ];
    for ct in accepted {
        let body = json!({"schemas": [USER], "userName": unique("ct"), "name": {"givenName": "a", "familyName": "b"},
                          "emails": [{"type": "work", "value": "ct@example.com"}]});
        let r = c
            .send_raw(Method::POST, "/Users", ct, body.to_string())
            .await;
        r.expect(201);
        assert!(
            r.header("content-type")
                .starts_with("application/scim+json"),
            "{ct}: {}",
            r.header("content-type")
        );
        let id = r.id();
        let r = c.send_raw(Method::PATCH, &format!("/Users/{id}"), ct, json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": ct}]}).to_string()).await;
        r.expect(200);
        assert_eq!(r.json()["title"], json!(ct));
    }
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_with_www_authenticate() {
    let srv = Server::shared();
    let no = srv.client_with(None);
    let wrong = srv.client_with(Some(&"0".repeat(64)));
    let garbage = srv.client_with(Some("not-a-token"));
    for cl in [&no, &wrong, &garbage] {
        for (m, p) in [
            (Method::GET, "/Users"),
            (Method::GET, "/Groups"),
            (Method::POST, "/Users"),
            (Method::GET, "/Users/x"),
        ] {
            let r = cl
                .send(cl.json_req(m.clone(), p, &json!({"schemas": [USER], "userName": "x"})))
                .await;
            r.expect_error(401, None);
            assert!(
                r.header("www-authenticate")
                    .to_ascii_lowercase()
                    .starts_with("bearer"),
                "{m} {p}: {:?}",
                r.headers
            );
        }
    }
    // Another scheme is refused.
    let c = srv.client_with(None);
    let r = c
        .send(
            c.req(Method::GET, "/Users")
                .header("authorization", format!("Basic {}", srv.token)),
        )
        .await;
    r.expect_error(401, None);
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    let r = c
        .send(
            c.req(Method::GET, "/Users?count=1")
                .header("authorization", format!("bearer {}", srv.token)),
        )
        .await;
    r.expect(200);
}

#[tokio::test]
async fn errors_are_scim_bodies() {
    let c = client();
    c.get(&format!("/Users/{}", guid()))
        .await
        .expect_error(404, None);
    c.get(&format!("/Groups/{}", guid()))
        .await
        .expect_error(404, None);
    c.get("/Users/not-a-uuid").await.expect_error(404, None);
    c.delete(&format!("/Groups/{}", guid()))
        .await
        .expect_error(404, None);
    c.put(
        &format!("/Users/{}", guid()),
        &json!({"schemas": [USER], "userName": "x"}),
    )
    .await
    .expect_error(404, None);
    c.get("/NoSuchEndpoint").await.expect_error(404, None);
    // Invalid JSON.
    for body in [
        "{",
        "{\"userName\": }",
        "not json",
        "{\"schemas\": [\"a\"],}",
    ] {
        let r = c
            .send_raw(Method::POST, "/Users", "application/scim+json", body)
            .await;
        r.expect_error(400, Some("invalidSyntax"));
    }
    let r = c
        .send_raw(
            Method::PATCH,
            &format!("/Users/{}", guid()),
            "application/scim+json",
            "{",
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // A JSON value that is not an object.
    let r = c.post("/Users", &json!(["userName"])).await;
    r.expect_error(400, None);
    // A PATCH body without Operations.
    let u = c.create_user(&unique("err"), json!({})).await;
    let id = u["id"].as_str().unwrap();
    c.patch(&format!("/Users/{id}"), &json!({"schemas": [PATCH_OP]}))
        .await
        .expect_error(400, None);
    c.patch_ops(&format!("/Users/{id}"), json!([{"op": "remove"}]))
        .await
        .expect_error(400, Some("noTarget"));
    // A malformed filter inside a path: RFC 7644 Table 9 allows invalidFilter (PATCH path
    // filter) as well as invalidPath.
    let r = c
        .patch_op(
            &format!("/Users/{id}"),
            "replace",
            "emails[type eq",
            json!("x"),
        )
        .await;
    r.expect_error(400, None);
    let t = r.json()["scimType"].as_str().unwrap_or("");
    assert!(t == "invalidPath" || t == "invalidFilter", "{}", r.text);
    // A malformed path: invalidPath.
    for path in [
        "name..givenName",
        "emails[type eq \"work\"]]",
        "1abc",
        "name.givenName.extra.more",
    ] {
        c.patch_op(&format!("/Users/{id}"), "replace", path, json!("x"))
            .await
            .expect_error(400, Some("invalidPath"));
    }
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let srv = Server::shared();
    let big = "x".repeat(5 * 1024 * 1024);
    let body = json!({"schemas": [USER], "userName": unique("big"), "title": big,
                      "name": {"givenName": "a", "familyName": "b"}, "emails": [{"type": "work", "value": "big@example.com"}]})
    .to_string();
    // With Content-Length, and chunked (no length known up front).
    for chunked in [false, true] {
        let resp = tokio::task::spawn_blocking({
            let (addr, token, body) = (srv.addr(), srv.token.clone(), body.clone());
            move || raw_post(&addr, "/scim/v2/Users", &token, body.as_bytes(), chunked)
        })
        .await
        .unwrap();
        assert!(
            resp.starts_with("HTTP/1.1 413"),
            "chunked={chunked}: {}",
            resp.chars().take(500).collect::<String>()
        );
        let (head, raw_body) = resp.split_once("\r\n\r\n").unwrap();
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: application/scim+json"),
            "{head}"
        );
        let json_body = if lower.contains("transfer-encoding: chunked") {
            dechunk(raw_body)
        } else {
            raw_body.to_string()
        };
        let v: Value = serde_json::from_str(&json_body)
            .unwrap_or_else(|e| panic!("413 body is not JSON ({e}): {json_body}"));
        assert_eq!(v["status"], json!("413"), "{v}");
        assert_eq!(v["schemas"], json!([ERROR]));
    }
    // A body under the limit is fine: 3 MiB, in values each within the value limits
    // (--max-string-bytes, --max-values).
    let c = srv.client();
    let big = |tag: &str| -> Vec<Value> {
        (0..96)
            .map(|i| json!({"value": format!("{tag}{i:03}{}", "y".repeat(16 * 1024 - 8))}))
            .collect()
    };
    let ok = json!({"schemas": [USER], "userName": unique("almost"), "roles": big("r"), "entitlements": big("e"),
                    "name": {"givenName": "a", "familyName": "b"}, "emails": [{"type": "work", "value": "almost@example.com"}]});
    assert!(ok.to_string().len() > 3 * 1024 * 1024);
    c.post("/Users?attributes=userName", &ok).await.expect(201);
}

#[tokio::test]
async fn unknown_query_parameters_are_ignored() {
    let c = client();
    let u = c.create_user(&unique("qp"), json!({})).await;
    let id = u["id"].as_str().unwrap();
    let r = c
        .get_ok(&format!("/Users/{id}?aadOptscim062020&foo=bar&x"))
        .await;
    assert_eq!(r.json(), &u);
    let by_id = format!("id eq \"{id}\"");
    let r = c
        .get_filtered_with("/Users", &by_id, "&aadOptscim062020&foo=bar")
        .await;
    assert_eq!(r.total(), 1);
    c.patch_op(
        &format!("/Users/{id}?aadOptscim062020=true&z=1"),
        "add",
        "title",
        json!("x"),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn read_only_input_and_unknown_schemas_are_ignored() {
    let c = client();
    let name = unique("ro");
    let r = c
        .post(
            "/Users",
            &json!({
                "schemas": [USER, "urn:example:unknown:1.0:User"],
                "id": "client-chosen-id",
                "userName": name,
                "name": {"givenName": "R", "familyName": "O"},
                "emails": [{"type": "work", "value": "ro@example.com"}],
                "meta": {"created": "2000-01-01T00:00:00Z", "lastModified": "2000-01-01T00:00:00Z", "version": "W/\"999\"", "location": "http://evil/"},
                "groups": [{"value": guid(), "display": "Admins"}],
                "urn:example:unknown:1.0:User": {"shoeSize": 44},
                "password": "Sup3r-Secret!"
            }),
        )
        .await;
    r.expect(201);
    let u = r.json().clone();
    let id = r.id();
    assert_ne!(id, "client-chosen-id");
    assert!(
        !u["meta"]["created"].as_str().unwrap().starts_with("2000"),
        "{u}"
    );
    assert_ne!(u["meta"]["version"], json!("W/\"999\""));
    assert!(!u["meta"]["location"].as_str().unwrap().contains("evil"));
    assert!(
        u.get("groups")
            .is_none_or(|g| g.as_array().is_some_and(|a| a.is_empty())),
        "groups is readOnly: {u}"
    );
    assert!(u.get("urn:example:unknown:1.0:User").is_none(), "{u}");
    assert!(!lists_schema(&u, "urn:example:unknown:1.0:User"));
    assert!(
        !r.text.contains("Sup3r-Secret!"),
        "password never returned: {}",
        r.text
    );
    assert!(u.get("password").is_none());
    // Never returned, even when asked for.
    for q in ["", "?attributes=password", "?attributes=password,userName"] {
        let r = c.get_ok(&format!("/Users/{id}{q}")).await;
        assert!(
            r.json().get("password").is_none() && !r.text.contains("Sup3r-Secret!"),
            "{q}: {}",
            r.text
        );
    }
    // PATCH and PUT with a password and readOnly attributes.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "password", "value": "An0ther-Secret!"},
                {"op": "replace", "path": "meta.created", "value": "2000-01-01T00:00:00Z"},
                {"op": "add", "path": "id", "value": "other"},
                {"op": "add", "path": "urn:example:unknown:1.0:User:shoeSize", "value": 45}
            ]),
        )
        .await;
    r.expect(200);
    assert!(!r.text.contains("An0ther-Secret!"));
    assert_eq!(r.id(), id);
    assert_eq!(r.json()["meta"]["created"], u["meta"]["created"]);
    let mut put = u.clone();
    put["password"] = json!("Th1rd-Secret!");
    put["id"] = json!("yet-another");
    let r = c.put(&format!("/Users/{id}"), &put).await;
    r.expect(200);
    assert!(!r.text.contains("Th1rd-Secret!"));
    assert_eq!(r.id(), id);
}

#[tokio::test]
async fn wrong_typed_values_are_400_invalid_value_and_change_nothing() {
    let c = client();
    let u = c
        .create_user(&unique("typed"), json!({"title": "kept"}))
        .await;
    let id = u["id"].as_str().unwrap();
    let p = format!("/Users/{id}");
    let before = c.get(&p).await.json().clone();
    let bad_ops = vec![
        json!([{"op": "replace", "path": "active", "value": "maybe"}]),
        json!([{"op": "replace", "path": "active", "value": 3}]),
        json!([{"op": "replace", "path": "name", "value": "a string"}]),
        json!([{"op": "replace", "path": "userName", "value": 42}]),
        json!([{"op": "replace", "path": "userName", "value": {"a": 1}}]),
        json!([{"op": "replace", "path": "emails", "value": [{"value": 7}]}]),
        json!([{"op": "replace", "path": "title", "value": "changed"}, {"op": "replace", "path": "active", "value": "maybe"}]),
        json!([{"op": "replace", "value": {"title": "changed", "active": "nope"}}]),
    ];
    for ops in bad_ops {
        let r = c.patch_ops(&p, ops.clone()).await;
        assert_eq!(r.status, 400, "{ops}: {}", r.text);
        r.expect_error(400, Some("invalidValue"));
    }
    assert_eq!(
        c.get(&p).await.json(),
        &before,
        "failed PATCHes changed nothing"
    );
    for body in [
        json!({"schemas": [USER], "userName": 12, "emails": [{"value": "a@b.c"}], "name": {"givenName": "a", "familyName": "b"}}),
        json!({"schemas": [USER], "userName": unique("t"), "active": "perhaps", "emails": [{"value": "a@b.c"}], "name": {"givenName": "a", "familyName": "b"}}),
        json!({"schemas": [USER], "userName": unique("t"), "emails": "a@b.c", "name": {"givenName": "a", "familyName": "b"}, "x509Certificates": 5}),
    ] {
        let r = c.post("/Users", &body).await;
        r.expect_error(400, Some("invalidValue"));
    }
    let mut put = before.clone();
    put["active"] = json!("perhaps");
    put["title"] = json!("changed");
    c.put(&p, &put)
        .await
        .expect_error(400, Some("invalidValue"));
    assert_eq!(
        c.get(&p).await.json(),
        &before,
        "failed PUT changed nothing"
    );
    // Missing required userName.
    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER], "emails": [{"value": "a@b.c"}], "name": {"givenName": "a", "familyName": "b"}}),
        )
        .await;
    r.expect_error(400, Some("invalidValue"));
    // Missing displayName on a group.
    c.post("/Groups", &json!({"schemas": [GROUP]}))
        .await
        .expect_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn put_replaces_the_resource() {
    let c = client();
    let name = unique("put");
    let with_extension = json!({"title": "T", "nickName": "N", "schemas": [USER, ENTERPRISE], ENTERPRISE: {"department": "D"}});
    let u = c.create_user(&name, with_extension).await;
    let id = u["id"].as_str().unwrap();
    let r = c
        .put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER], "userName": name, "title": "T2", "name": {"givenName": "G", "familyName": "F"},
                    "emails": [{"type": "work", "value": "put@example.com"}]}),
        )
        .await;
    r.expect(200);
    let v = r.json();
    assert_eq!(v["id"], json!(id));
    assert_eq!(v["title"], json!("T2"));
    assert!(
        v.get("nickName").is_none(),
        "PUT replaces: attributes not sent are gone: {v}"
    );
    assert!(v.get(ENTERPRISE).is_none(), "{v}");
    assert_eq!(v["meta"]["created"], u["meta"]["created"]);
    assert_ne!(v["meta"]["version"], u["meta"]["version"]);
    assert_eq!(r.header("etag"), v["meta"]["version"].as_str().unwrap());
    assert_eq!(c.get(&format!("/Users/{id}")).await.json(), v);
}

#[tokio::test]
async fn put_on_a_group_replaces_name_and_members() {
    let c = client();
    let a = c.create_user_id(&unique("gput-a"), json!({})).await;
    let b = c.create_user_id(&unique("gput-b"), json!({})).await;
    let g = c
        .create_group(&unique("Put Group"), json!({"members": [{"value": a}]}))
        .await;
    let gid = g["id"].as_str().unwrap();
    let name = unique("Put Group Renamed");
    let r = c
        .put(
            &format!("/Groups/{gid}"),
            &json!({"schemas": [GROUP], "displayName": name, "members": [{"value": b}]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["displayName"], json!(name));
    assert_eq!(
        r.json()["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].clone())
            .collect::<Vec<_>>(),
        vec![json!(b)]
    );
    assert_eq!(c.member_ids(gid).await, vec![b.clone()]);
    assert_ne!(r.json()["meta"]["version"], g["meta"]["version"]);
    assert_eq!(
        r.header("etag"),
        r.json()["meta"]["version"].as_str().unwrap()
    );
}

/// Input whose meaning cannot be known is refused rather than read as "no filter": a
/// repeated `filter` (400 invalidFilter) or `count` (400 invalidValue), and a SearchRequest
/// with a misspelt key (400 invalidSyntax naming it).
#[tokio::test]
async fn ambiguous_list_requests_never_widen_the_result() {
    let c = client();
    let u = c.create_user(&unique("ambig"), json!({})).await;
    let f = filter_q(&format!(
        "userName eq \"{}\"",
        u["userName"].as_str().unwrap()
    ));
    c.get(&format!("/Users?{f}&filter="))
        .await
        .expect_error(400, Some("invalidFilter"));
    c.get(&format!("/Users?{f}&{f}"))
        .await
        .expect_error(400, Some("invalidFilter"));
    c.get("/Users?count=1&count=2")
        .await
        .expect_error(400, Some("invalidValue"));
    let r = c
        .post(
            "/Users/.search",
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "fliter": format!("userName eq \"{}\"", u["userName"].as_str().unwrap()),
            }),
        )
        .await;
    r.expect_error(400, Some("invalidSyntax"));
    assert!(
        r.json()["detail"].as_str().unwrap().contains("fliter"),
        "{}",
        r.text
    );
    // Repeated attributes lists still add up.
    let r = c
        .get_ok(&format!("/Users?{f}&attributes=userName&attributes=emails"))
        .await;
    let res = &r.resources()[0];
    assert!(
        res.get("emails").is_some() && res.get("userName").is_some(),
        "{res}"
    );
    assert!(res.get("name").is_none(), "{res}");
}

/// A SearchRequest body (RFC 7644 §3.4.3) with this filter and the further parameters in
/// `more` (an object: `count`, `sortBy`, `attributes`, ...).
fn search_request(filter: &str, more: Value) -> Value {
    let mut body = json!({"schemas": [SEARCH], "filter": filter});
    merge(&mut body, more);
    body
}

/// A PatchOp body of one operation (RFC 7644 §3.5.2).
fn one_op_patch(op: &str, path: &str, value: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]})
}

/// Sends each `(method, path, body)` in order and asserts that each is refused with 409
/// and scimType `uniqueness` (RFC 7644 §3.12).
async fn each_is_a_uniqueness_conflict<const N: usize>(
    c: &Client,
    requests: [(Method, String, Value); N],
) {
    for (method, path, body) in requests {
        let r = c.send(c.json_req(method.clone(), &path, &body)).await;
        assert_eq!(r.status, 409, "{method} {path}: {}", r.text);
        r.expect_error(409, Some("uniqueness"));
    }
}

/// GET a discovery list (`/Schemas`, `/ResourceTypes`), asserting 200, a ListResponse and a
/// `totalResults` equal to the number of `Resources`; the resources.
async fn discovery_list(c: &Client, path: &str) -> Vec<Value> {
    let r = c.get_ok(path).await;
    assert_eq!(r.json()["schemas"], json!([LIST]), "{path}");
    let list = r.resources();
    assert_eq!(r.total() as usize, list.len(), "{path}");
    list
}
