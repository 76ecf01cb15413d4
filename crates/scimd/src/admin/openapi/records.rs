//! The OpenAPI description of the change records' views: the provisioning log, the
//! history of a user or group, and the audit record (paths and schemas).

use super::{list_of, names, nullable, op, p, r, responses, with};
use scimd_directory::audit::{LogOutcome, ResourceType};
use scimd_directory::changes::AuditAction;
use scimd_directory::store::{ActorType, Channel};
use serde_json::{json, Map, Value};

/// A query parameter `name` with `description` and `schema`.
fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// The parameters the log and the audit record share after their own filters: the time
/// range, text, transaction, paging and download format.
fn shared_params(text: &str, mut own: Vec<Value>) -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    own.extend([
        query("since", "Only entries at or after this time (RFC 3339, e.g. 2026-01-31T08:00:00Z); 400 when malformed", time.clone()),
        query("until", "Only entries before this time (RFC 3339); 400 when malformed or before `since`", time),
        query("text", text, json!({"type": "string"})),
        query("txn", "Only the entries of this transaction (`txn` of a change record)", json!({"type": "string"})),
        p("StartIndex"),
        p("Count"),
        query("format", "`csv` or `jsonl`: download every matching entry; `json` (the default): a page",
            json!({"type": "string", "enum": ["json", "csv", "jsonl"]})),
    ]);
    Value::Array(own)
}

/// The 200 response of a view that pages or downloads: `page` the schema of a page, `file`
/// the download's file name, `header` its CSV header row, `item` the schema of a line.
fn page_or_download(page: &str, file: &str, header: &str, item: &str) -> Value {
    responses(
        &[(
            "200",
            json!({
                "description": "A page (JSON) or a download (CSV, JSON Lines)",
                "headers": {"Content-Disposition": {"description": format!("For downloads: attachment; filename=\"{file}-<UTC time>.csv|jsonl\""), "schema": {"type": "string"}}},
                "content": {
                    "application/json": {"schema": r(page)},
                    "text/csv": {"schema": {"type": "string"}, "example": format!("{header}\r\n")},
                    "application/x-ndjson": {"schema": {"type": "string", "description": format!("One {item} object per line")}}
                }
            }),
        )],
        &[400],
    )
}

const DOWNLOADS: &str = "Without `format` (or with `format=json`) a page as JSON. With `format=csv` or `format=jsonl`, or `Accept: text/csv` / `Accept: application/x-ndjson` without `format`, a download (`Content-Disposition: attachment`) of every matching entry, paging ignored. CSV: RFC 4180, header row of the field names, lists of strings joined with `; `, objects (`actor`, `cause`, `changes`, `target`) as JSON text, cells starting with = + - @ prefixed with `'` (formula injection guard).";

/// The path item of a view of the change records that pages or downloads: its `GET`
/// operation `[operationId, tag, summary, description]` (the download rules appended to the
/// description), the description of its `text` filter, its own filters (before the shared
/// ones) and its 200 response `[page schema, file name, CSV header, entry schema]`.
fn view_path(op_: [&str; 4], text: &str, filters: Vec<Value>, ok: [&str; 4]) -> Value {
    let [id, tag, summary, description] = op_;
    let get = op(id, tag, summary, &format!("{description} {DOWNLOADS}"));
    let [page, file, header, item] = ok;
    let get = with(get, "parameters", shared_params(text, filters));
    json!({"get": with(get, "responses", page_or_download(page, file, header, item))})
}

/// `/api/v1/provisioning-log`.
pub(super) fn log_path() -> Value {
    let outcome = json!({"type": "string", "enum": names(&LogOutcome::ALL, LogOutcome::as_str)});
    let types = json!({"type": "string", "enum": names(&ResourceType::ALL, ResourceType::as_str)});
    view_path(
        ["getProvisioningLog", "provisioning-log", "Read or download the provisioning log",
            "Entries of SCIM writes (and permanent deletes), newest first, filtered: the request records of the change records, with `txn`, `actor`, `cause` and `changes` (every attribute's value before and after)."],
        "Case-insensitive substring of the resource name or id, the path, the error detail or the token name",
        vec![
            query("outcome", "Only entries with this outcome", outcome),
            query("resourceType", "Only entries about this resource type (case-insensitive)", types),
        ],
        ["LogPage", "provisioning-log",
            "seq,time,tokenName,method,path,resourceType,resourceId,resourceName,outcome,status,detail,changedAttributes,warnings,txn,actor,cause,changes",
            "LogEntry"],
    )
}

/// `/api/v1/audit`.
pub(super) fn audit_path() -> Value {
    let string = json!({"type": "string"});
    let actions = json!({"type": "string", "enum": names(&AuditAction::ALL, AuditAction::as_str)});
    let channels = json!({"type": "string", "enum": ["portal", "api", "cli"]});
    let filters = vec![
        query(
            "action",
            "Only records of this action (case-insensitive)",
            actions,
        ),
        query(
            "actor",
            "Only records of the actor with exactly this name",
            string,
        ),
        query(
            "source",
            "Only records that came through this channel (case-insensitive)",
            channels,
        ),
    ];
    let ok = [
        "AuditPage",
        "audit",
        "seq,time,txn,actor,source,address,action,target,outcome,detail,changes,count,cause",
        "AuditEntry",
    ];
    view_path(
        ["getAudit", "audit", "Read or download the audit record",
            "Administrative actions, newest first, filtered: settings, custom attributes, tokens, administrators, local users and groups, permanent deletes, portal sign-ins and failed sign-ins, from the portal, the admin API or the command line. Failed sign-ins are coalesced (one record per minute, address and username, with `count`; at most 21 a minute)."],
        "Case-insensitive substring of the target's name or id, the path or command, the detail, the actor's name or the address",
        filters,
        ok,
    )
}

/// `/api/v1/users/{id}/history` (`kind` `User`) or `/api/v1/groups/{id}/history`.
pub(super) fn history_path(kind: &str) -> Value {
    let (id, what, gone) = match kind {
        "User" => ("UserId", "user", "404 for an unknown id and for a user deleted permanently (its records are pseudonymised)."),
        _ => ("GroupId", "group", "404 for an id that is neither a group nor has records: a deleted group's history stays readable until retention removes it."),
    };
    json!({
        "parameters": [p(id)],
        "get": with(with(op(&format!("get{kind}History"), "history", &format!("The history of a {what}"),
            &format!("The {what}'s change records, newest first: its writes (every attribute's value before and after), the side effects of product rules on it (actor type `rule`, with the request's `txn`), administrative actions on it, and one record per group membership it gained or lost (`member`). {gone}")),
            "parameters", json!([
                query("txn", "Only the records of this transaction", json!({"type": "string"})),
                p("StartIndex"), p("Count")
            ])),
            "responses", responses(&[("200", super::ok("A page of change records", r("HistoryPage")))], &[400, 404]))
    })
}

/// The schemas of the change records' views.
pub(super) fn schemas(m: &mut Map<String, Value>) {
    let date_time = json!({"type": "string", "format": "date-time"});
    let string = json!({"type": "string"});
    m.insert("Actor".into(), json!({
        "type": "object", "required": ["type", "name"],
        "description": "Who made a change: a SCIM token (`token`, its name), an administrator (`admin`: a portal administrator's username or an admin token's name), a product rule (`rule`, its name), a command (`cli`, the operating-system user), an application presenting an issuer's access token (`client`, `APP-ID@ISSUER`)",
        "properties": {
            "type": {"type": "string", "enum": names(&ActorType::ALL, ActorType::as_str)},
            "name": string
        }
    }));
    m.insert("Cause".into(), json!({
        "type": "object", "required": ["type"],
        "description": "Why: a request (`method`, `path`, `status`: null for administrative actions), a product rule (`rule`, `description`) or a command (`command`)",
        "properties": {
            "type": {"type": "string", "enum": ["request", "rule", "command"]},
            "method": string, "path": string, "status": nullable("integer"),
            "rule": string, "description": nullable("string"), "command": string
        }
    }));
    m.insert("Change".into(), json!({
        "type": "object", "required": ["attribute", "before", "after"],
        "description": "One attribute set: a top-level attribute (`name` as one object, `emails` as the whole array), an extension attribute by its full name (`urn:…:enterprise:2.0:User:department`), or a directory property (`state`, `source`); values as stored, null when absent. A group write's `members` item counts the members `added` and `removed` (each has its own record); `redacted` values were removed by a permanent delete. Never `password`.",
        "properties": {
            "attribute": string, "before": {}, "after": {},
            "added": {"type": "integer", "minimum": 0}, "removed": {"type": "integer", "minimum": 0},
            "redacted": {"type": "boolean"}
        }
    }));
    let changes = json!({"type": "array", "items": r("Change")});
    let source = json!({"type": "string", "enum": names(&Channel::ALL, Channel::as_str)});
    m.insert("LogEntry".into(), json!({
        "type": "object",
        "required": ["seq", "time", "tokenName", "method", "path", "resourceType", "outcome", "status", "changedAttributes", "warnings", "txn", "actor", "cause", "changes"],
        "properties": {
            "seq": {"type": "integer"},
            "time": date_time,
            "tokenName": string,
            "method": string,
            "path": string,
            "resourceType": {"type": "string", "enum": names(&ResourceType::ALL, ResourceType::as_str)},
            "resourceId": nullable("string"),
            "resourceName": nullable("string"),
            "outcome": {"type": "string", "enum": names(&LogOutcome::ALL, LogOutcome::as_str)},
            "status": {"type": "integer"},
            "detail": nullable("string"),
            "changedAttributes": {"type": "array", "items": string, "description": "The attributes of `changes`"},
            "warnings": {"type": "array", "items": string},
            "txn": {"type": "string", "description": "The transaction: shared with the per-member and rule records of the request"},
            "actor": r("Actor"),
            "cause": r("Cause"),
            "changes": changes
        }
    }));
    m.insert(
        "LogPage".into(),
        json!(list_of(
            "LogEntry",
            "A page of provisioning-log entries, newest first"
        )),
    );
    m.insert("ChangeRecord".into(), json!({
        "type": "object",
        "required": ["seq", "time", "txn", "actor", "source", "cause", "outcome", "changes"],
        "properties": {
            "seq": {"type": "integer", "description": "Increasing in insertion order, never reused"},
            "time": date_time,
            "txn": string,
            "actor": r("Actor"),
            "source": source,
            "address": nullable("string"),
            "cause": r("Cause"),
            "resourceType": nullable("string"),
            "resourceId": nullable("string"),
            "resourceName": nullable("string"),
            "member": {"type": ["object", "null"], "description": "The member a per-member record adds or removes", "properties": {"value": string, "type": string}},
            "outcome": {"type": "string", "description": "A provisioning-log outcome, `member added`, `member removed`, `succeeded` or `failed`"},
            "action": nullable("string"),
            "detail": nullable("string"),
            "changes": changes,
            "warnings": {"type": "array", "items": string},
            "count": {"type": "integer", "minimum": 1}
        }
    }));
    m.insert(
        "HistoryPage".into(),
        json!(list_of(
            "ChangeRecord",
            "A page of change records, newest first"
        )),
    );
    m.insert("AuditEntry".into(), json!({
        "type": "object",
        "required": ["seq", "time", "txn", "actor", "source", "action", "target", "outcome", "changes", "count", "cause"],
        "properties": {
            "seq": {"type": "integer"},
            "time": date_time,
            "txn": string,
            "actor": r("Actor"),
            "source": source,
            "address": nullable("string"),
            "action": {"type": "string", "enum": names(&AuditAction::ALL, AuditAction::as_str)},
            "target": {"type": "object", "properties": {"type": string, "id": nullable("string"), "name": nullable("string")}},
            "outcome": string,
            "detail": nullable("string"),
            "changes": changes,
            "count": {"type": "integer", "minimum": 1, "description": "Occurrences (coalesced failed sign-ins); 1 otherwise"},
            "cause": r("Cause")
        }
    }));
    m.insert(
        "AuditPage".into(),
        json!(list_of(
            "AuditEntry",
            "A page of audit records, newest first"
        )),
    );
}
