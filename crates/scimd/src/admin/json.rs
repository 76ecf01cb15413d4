//! The admin API's wire format: the directory's administrator views serialised as the JSON
//! objects `/api/v1` answers (pinned by the OpenAPI document and the integration tests).
//! Nothing here decides a rule; it only names fields.

use scimd_directory::admin::{
    AdminGroup, AdminGroupPage, AdminMember, AdminUser, AuditEntry, CustomAttribute,
    DirectoryCounts, ProvisioningEntry,
};
use scimd_directory::audit::ResourceType;
use scimd_directory::changes::Rule;
use scimd_directory::render::rfc3339;
use scimd_directory::store::{Actor, Cause, Change, ChangeRecord, TokenRow};
use scimd_directory::warnings::ProvisioningWarning;
use serde_json::{json, Value};

/// A tenant, as the operator API and `scimd tenant list|show --json` show it: `{slug,
/// name, state, users, groups, created, lastScimRequest}` (times RFC 3339, `null`: never).
pub fn tenant(t: &scimd_directory::tenants::TenantSummary) -> Value {
    json!({
        "slug": t.tenant.slug,
        "name": t.tenant.name,
        "state": t.tenant.state.as_str(),
        "users": t.users,
        "groups": t.groups,
        "created": rfc3339(t.tenant.created),
        "lastScimRequest": t.tenant.last_scim_request.map(rfc3339),
    })
}

/// A tenant just created, as the operator API and `scimd tenant create --json` show it,
/// once: `{slug, name, scimUrl, scimToken, tokenUrl, portalUrl, adminUsername,
/// adminPassword}`.
pub fn created_tenant(
    tenant: &scimd_directory::store::TenantRow,
    made: &scimd_directory::directory::Bootstrap,
    urls: &crate::tenancy::TenantUrls,
) -> Value {
    json!({
        "slug": tenant.slug,
        "name": tenant.name,
        "scimUrl": urls.scim,
        "scimToken": made.scim_token,
        "tokenUrl": urls.token,
        "portalUrl": urls.portal,
        "adminUsername": made.admin_username,
        "adminPassword": made.admin_password,
    })
}

/// A user: its SCIM representation with `state`, `source` and `groups` (`{id,
/// displayName, builtin}`, the built-in All Users group first).
pub fn user(u: &AdminUser) -> Value {
    let mut v = u.resource.clone();
    v["state"] = json!(u.state.as_str());
    v["source"] = json!(u.source.as_str());
    v["groups"] = u
        .groups
        .iter()
        .map(|g| json!({"id": g.id, "displayName": g.display_name, "builtin": g.builtin}))
        .collect();
    v
}

/// A group: `{id, displayName, externalId, source, builtin, memberCount, created,
/// lastModified}`.
pub fn group(g: &AdminGroup) -> Value {
    json!({
        "id": g.id,
        "displayName": g.display_name,
        "externalId": g.external_id,
        "source": g.source.as_str(),
        "builtin": g.builtin,
        "memberCount": g.member_count,
        "created": rfc3339(g.created),
        "lastModified": rfc3339(g.last_modified),
    })
}

/// One member: `{id, type, display, state}`.
fn member(m: &AdminMember) -> Value {
    json!({
        "id": m.id,
        "type": ResourceType::from(m.kind).as_str(),
        "display": m.display,
        "state": m.state.map(|s| s.as_str()),
    })
}

/// A group with a page of its members: [`group`] with `members` and `membersStartIndex`.
pub fn group_page(p: &AdminGroupPage) -> Value {
    let mut v = group(&p.group);
    v["members"] = p.members.iter().map(member).collect();
    v["membersStartIndex"] = json!(p.start_index);
    v
}

/// A custom attribute: `{name, type, category: "IDP", schema, scimPath, created}` and
/// `usersWithValue` when counted.
pub fn attribute(a: &CustomAttribute) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": a.ty.as_str(),
        "category": "IDP",
        "schema": a.schema_urn,
        "scimPath": a.scim_path(),
        "created": rfc3339(a.created),
    });
    if let Some(n) = a.users_with_value {
        v["usersWithValue"] = json!(n);
    }
    v
}

/// An actor: `{type, name}`.
pub fn actor(a: &Actor) -> Value {
    json!({"type": a.kind.as_str(), "name": a.name})
}

/// A cause: `{type: "request", method, path, status}` (status null for administrative
/// actions), `{type: "rule", rule, description}` or `{type: "command", command}`.
pub fn cause(c: &Cause) -> Value {
    match c {
        Cause::Request {
            method,
            path,
            status,
        } => json!({"type": "request", "method": method, "path": path, "status": status}),
        Cause::Rule(name) => json!({
            "type": "rule",
            "rule": name,
            "description": Rule::parse(name).map(Rule::description),
        }),
        Cause::Command(cmd) => json!({"type": "command", "command": cmd}),
    }
}

/// Attribute changes: `[{attribute, before, after}]` (absent values null), with `added` and
/// `removed` on a group write's `members` summary and `redacted: true` on values removed
/// by a permanent delete.
pub fn changes(cs: &[Change]) -> Value {
    cs.iter()
        .map(|c| {
            let mut v = json!({"attribute": c.attribute, "before": c.before, "after": c.after});
            if let Some(n) = c.added {
                v["added"] = json!(n);
            }
            if let Some(n) = c.removed {
                v["removed"] = json!(n);
            }
            if c.redacted {
                v["redacted"] = json!(true);
            }
            v
        })
        .collect()
}

/// A provisioning-log entry: `{seq, time, tokenName, method, path, resourceType,
/// resourceId, resourceName, outcome, status, detail, changedAttributes, warnings, txn,
/// actor, cause, changes}` (the CSV export's columns are these keys).
pub fn log_entry(e: &ProvisioningEntry) -> Value {
    json!({
        "seq": e.seq,
        "time": rfc3339(e.at),
        "tokenName": e.token_name,
        "method": e.method,
        "path": e.path,
        "resourceType": e.resource_type.as_str(),
        "resourceId": e.resource_id,
        "resourceName": e.resource_name,
        "outcome": e.outcome.as_str(),
        "status": e.status,
        "detail": e.detail,
        "changedAttributes": e.changed,
        "warnings": e.warnings,
        "txn": e.txn,
        "actor": actor(&e.actor),
        "cause": cause(&e.cause),
        "changes": changes(&e.changes),
    })
}

/// A change record of a history: `{seq, time, txn, actor, source, address, cause,
/// resourceType, resourceId, resourceName, member, outcome, action, detail, changes,
/// warnings, count}` (`member`: `{value, type}` for a per-member record, else null).
pub fn record(r: &ChangeRecord) -> Value {
    json!({
        "seq": r.seq,
        "time": rfc3339(r.at),
        "txn": r.txn,
        "actor": actor(&r.actor),
        "source": r.source.as_str(),
        "address": r.address,
        "cause": cause(&r.cause),
        "resourceType": r.resource_type,
        "resourceId": r.resource_id,
        "resourceName": r.resource_name,
        "member": r.member.as_ref().map(|(id, k)| json!({"value": id, "type": ResourceType::from(*k).as_str()})),
        "outcome": r.outcome,
        "action": r.action,
        "detail": r.detail,
        "changes": changes(&r.changes),
        "warnings": r.warnings,
        "count": r.count,
    })
}

/// An audit record: its change record ([`record`]) with `action` and `target: {type, id,
/// name}` in place of the resource's keys: `{seq, time, txn, actor, source, address,
/// cause, outcome, action, detail, changes, count, target}` (the CSV export's columns are
/// these keys).
pub fn audit_entry(a: &AuditEntry) -> Value {
    let mut v = record(&a.record);
    if let Some(o) = v.as_object_mut() {
        let mut take = |k: &str| o.shift_remove(k).unwrap_or(Value::Null);
        let target = json!({
            "type": take("resourceType"),
            "id": take("resourceId"),
            "name": take("resourceName"),
        });
        for k in ["member", "warnings"] {
            take(k);
        }
        o.insert("action".into(), json!(a.action.as_str()));
        o.insert("target".into(), target);
    }
    v
}

/// The dashboard's counts: `{users, usersByState: {active, inactive, deprovisioned},
/// usersBySource: {local, scim}, groups}`.
pub fn counts(c: &DirectoryCounts) -> Value {
    json!({
        "users": c.users,
        "usersByState": {
            "active": c.active,
            "inactive": c.inactive,
            "deprovisioned": c.deprovisioned,
        },
        "usersBySource": {"local": c.local, "scim": c.scim},
        "groups": c.groups,
    })
}

/// A provisioning warning: `{kind, subject, example, firstSeen, lastSeen, occurrences,
/// users}` (`kind` `unknown-schema` or `normalised`; times RFC 3339).
pub fn warning(w: &ProvisioningWarning) -> Value {
    let c = &w.counts;
    json!({
        "kind": w.kind.as_str(),
        "subject": c.subject,
        "example": c.example,
        "firstSeen": rfc3339(c.first_at),
        "lastSeen": rfc3339(c.last_at),
        "occurrences": c.occurrences,
        "users": c.users,
    })
}

/// A token: `{name, scope, created, lastUsed, revoked}`; never the secret or its hash.
pub fn token(t: &TokenRow) -> Value {
    json!({
        "name": t.name,
        "scope": t.scope.as_str(),
        "created": rfc3339(t.created),
        "lastUsed": t.last_used.map(rfc3339),
        "revoked": t.revoked.map(rfc3339),
        "expires": t.expires.map(rfc3339),
    })
}

/// An administrator (or an operator) as `scimd admin list --json` and `scimd operator list
/// --json` print it: `{username, created, passwordChanged, mustChangePassword}` (RFC 3339
/// times); never its password hash.
pub fn administrator(a: &scimd_directory::store::AdminRow) -> Value {
    json!({
        "username": a.username,
        "created": rfc3339(a.created),
        "passwordChanged": rfc3339(a.password_changed),
        "mustChangePassword": a.must_change_password,
    })
}

/// A list of every item, unpaged (see [`list`]).
pub fn all(resources: Vec<Value>) -> Value {
    list(resources.len() as u64, 1, resources)
}

/// A list: `{totalResults, startIndex, itemsPerPage, Resources}`.
pub fn list(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
