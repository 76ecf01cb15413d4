//! Microbenchmarks of the protocol core: filter parsing, PATCH application and
//! `attributes`/`excludedAttributes` projection. Run with `cargo bench -p scim-proto`
//! (CI only builds them: `cargo bench -p scim-proto --no-run`).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use scim_proto::filter;
use scim_proto::patch::{apply, PatchOptions, PatchRequest};
use scim_proto::path::AttrPath;
use scim_proto::projection::project;
use scim_proto::schema::{group_resource_schema, user_resource_schema};
use serde_json::{json, Value};
use std::hint::black_box;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn bench_filter_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter_parse");
    let cases = [
        (
            "simple_username_eq",
            r#"userName eq "alice.smith@contoso.example""#,
        ),
        (
            "complex_nested",
            r#"(userName sw "a" or (name.familyName co "mi" and not (title pr))) and (meta.lastModified gt "2024-01-01T00:00:00Z" or active eq true) and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales""#,
        ),
        (
            "value_path_work_email",
            r#"emails[type eq "work"].value eq "alice@contoso.example""#,
        ),
        (
            "value_path_complex",
            r#"emails[type eq "work" and value co "@contoso.example"] or addresses[country eq "US" and (locality eq "Springfield" or primary eq true)]"#,
        ),
    ];
    for (name, f) in cases {
        g.bench_function(name, |b| {
            b.iter(|| filter::parse(black_box(f)).expect("valid filter"))
        });
    }
    g.finish();
}

/// A user as Entra ID provisions one (core, enterprise extension, multi-valued attributes).
fn full_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "e5a1c2d3-0000-4000-8000-000000000001",
        "userName": "alice.smith@contoso.example",
        "active": true,
        "displayName": "Alice Smith",
        "nickName": "Ali",
        "title": "Engineer",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "Europe/Paris",
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice", "middleName": "J"},
        "emails": [
            {"value": "alice.smith@contoso.example", "type": "work", "primary": true},
            {"value": "alice@home.example", "type": "home"}
        ],
        "phoneNumbers": [
            {"value": "+1 555 0100", "type": "work"},
            {"value": "+1 555 0101", "type": "mobile"}
        ],
        "addresses": [{
            "type": "work", "streetAddress": "1 Main St", "locality": "Springfield",
            "region": "IL", "postalCode": "62701", "country": "US", "primary": true
        }],
        "groups": [
            {"value": "g1", "display": "Engineering", "$ref": "https://scim.example/scim/v2/Groups/g1"},
            {"value": "g2", "display": "All Staff", "$ref": "https://scim.example/scim/v2/Groups/g2"}
        ],
        ENTERPRISE: {
            "employeeNumber": "701984", "costCenter": "4130", "organization": "Contoso",
            "division": "R&D", "department": "Platform",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "Bob Jones"}
        },
        "meta": {
            "resourceType": "User", "created": "2024-01-23T04:56:22Z",
            "lastModified": "2024-05-13T04:42:34Z", "version": "W/\"3\"",
            "location": "https://scim.example/scim/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    })
}

fn bench_patch(c: &mut Criterion) {
    let mut g = c.benchmark_group("patch_apply");
    let user_schema = user_resource_schema(vec![]);
    let mut user = full_user();
    if let Value::Object(m) = &mut user {
        for k in ["id", "meta", "groups"] {
            m.remove(k);
        }
    }
    // Entra ID's usual update: several replaces, a filtered email path, the enterprise
    // extension, and `active` as the string "False" (its default dialect).
    let entra_body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "title", "value": "Senior Engineer"},
            {"op": "Replace", "path": "displayName", "value": "Alice M. Smith"},
            {"op": "Replace", "path": "name.familyName", "value": "Smith-Jones"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alice.sj@contoso.example"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0199"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Infrastructure"},
            {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "9a4c1b7e-1111-4222-8333-944455556666"},
            {"op": "Replace", "path": "active", "value": "False"}
        ]
    });
    let entra_req = PatchRequest::parse(&entra_body).expect("valid PATCH");
    let opts = PatchOptions::default();
    g.bench_function("entra_user_parse", |b| {
        b.iter(|| PatchRequest::parse(black_box(&entra_body)).expect("valid PATCH"))
    });
    g.bench_function("entra_user_apply", |b| {
        b.iter_batched(
            || user.clone(),
            |mut doc| apply(&mut doc, &entra_req, &user_schema, &opts).expect("applies"),
            BatchSize::SmallInput,
        )
    });

    let group_schema = group_resource_schema();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"});
    let members: Vec<Value> = (0..1000)
        .map(|i| json!({"value": format!("00000000-0000-4000-8000-{i:012}")}))
        .collect();
    let group_body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members", "value": members}]
    });
    g.throughput(Throughput::Elements(1000));
    g.bench_function("group_add_1000_members_parse_apply", |b| {
        b.iter_batched(
            || group.clone(),
            |mut doc| {
                let req = PatchRequest::parse(black_box(&group_body)).expect("valid PATCH");
                apply(&mut doc, &req, &group_schema, &opts).expect("applies")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn bench_projection(c: &mut Criterion) {
    let mut g = c.benchmark_group("projection");
    let schema = user_resource_schema(vec![]);
    let user = full_user();
    let paths = |s: &str| -> Vec<AttrPath> {
        s.split(',')
            .map(|p| AttrPath::parse(p).expect("valid path"))
            .collect()
    };
    let none: Vec<AttrPath> = Vec::new();
    g.bench_function("full_user_default", |b| {
        b.iter(|| project(black_box(&user), &schema, &none, &none))
    });
    let attrs = paths("userName,emails.value,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department");
    g.bench_function("full_user_attributes", |b| {
        b.iter(|| project(black_box(&user), &schema, &attrs, &none))
    });
    let excluded = paths("groups,addresses,phoneNumbers,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager");
    g.bench_function("full_user_excluded_attributes", |b| {
        b.iter(|| project(black_box(&user), &schema, &none, &excluded))
    });
    g.finish();
}

criterion_group!(benches, bench_filter_parse, bench_patch, bench_projection);
criterion_main!(benches);
