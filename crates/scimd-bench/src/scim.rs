//! What the driver writes and how it addresses it: schema URNs, the generated users and
//! groups (names, bodies), filter encoding, reading ids out of responses, and the small PRNG
//! the workers pick users with.

use serde_json::{json, Value};

/// Schema URN of the core User resource (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URN of the core Group resource (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Schema URN of the enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Message URN of a PatchOp request (RFC 7644 §3.5.2).
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// ---------------------------------------------------------------------------------------
// Generated directory contents

/// userName of user `i` of tenant (or writer) `t` under prefix `p`.
pub fn user_name(p: &str, t: usize, i: usize) -> String {
    format!("{p}-t{t}-u{i}@bench.example")
}
/// externalId of user `i` of tenant `t`.
pub fn external_id(p: &str, t: usize, i: usize) -> String {
    format!("{p}-ext-t{t}-u{i}")
}
/// Work email address of user `i` of tenant `t`.
pub fn work_email(p: &str, t: usize, i: usize) -> String {
    format!("{p}.t{t}.u{i}@mail.bench.example")
}
/// displayName of group `g` of tenant (or writer) `t`.
pub fn group_name(p: &str, t: usize, g: usize) -> String {
    format!("{p}-t{t}-g{g}")
}

/// A user as Entra ID creates one with its default attribute mappings.
pub fn user_body(p: &str, t: usize, i: usize) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id(p, t, i),
        "userName": user_name(p, t, i),
        "active": true,
        "displayName": format!("Bench User {t}-{i}"),
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "name": {
            "formatted": format!("Bench User {t}-{i}"),
            "familyName": format!("User{i}"),
            "givenName": "Bench"
        },
        "emails": [{"primary": true, "type": "work", "value": work_email(p, t, i)}],
        "phoneNumbers": [{"type": "work", "value": format!("+1 555 {:07}", i % 10_000_000)}],
        "addresses": [{"type": "work", "locality": "Springfield", "country": "US", "primary": false}],
        ENTERPRISE: {
            "employeeNumber": format!("{i}"),
            "department": format!("Dept {}", i % 50),
            "costCenter": "CC-1"
        }
    })
}

/// A group as Entra ID creates one: its displayName and an externalId derived from it.
pub fn group_body(name: &str) -> Value {
    json!({"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": format!("{name}-ext")})
}

/// A PatchOp adding `ids` to a group's `members`, in Entra ID's spelling (`"op": "Add"`).
pub fn add_members_patch<'a>(ids: impl IntoIterator<Item = &'a str>) -> Value {
    let value: Vec<Value> = ids.into_iter().map(|m| json!({"value": m})).collect();
    json!({
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Add", "path": "members", "value": value}]
    })
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes `\\` and `"` for a string literal in a filter (RFC 7644 §3.4.2.2).
fn q(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The filter `ATTR eq "VALUE"` (RFC 7644 §3.4.2.2), `value` quoted and the whole
/// percent-encoded for a `filter=` query parameter.
pub fn eq_filter(attr: &str, value: &str) -> String {
    enc(&format!("{attr} eq \"{}\"", q(value)))
}

/// `/Users?filter=userName eq "…"` for user `i` of tenant `t`, encoded.
pub fn username_filter_path(p: &str, t: usize, i: usize) -> String {
    format!(
        "/Users?filter={}",
        eq_filter("userName", &user_name(p, t, i))
    )
}

/// The `id` of a resource.
pub fn id_of(resource: &Value) -> Option<String> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The `Resources` of a ListResponse (none when absent).
pub fn resources(body: &Value) -> &[Value] {
    body.get("Resources")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The id of the first resource of a ListResponse.
pub fn first_id(body: &Value) -> Option<String> {
    id_of(resources(body).first()?)
}

/// Small deterministic PRNG (xorshift64*), one per worker.
pub struct Rng(pub u64);
impl Rng {
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1) as u64) as usize
    }
}
