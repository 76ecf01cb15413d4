//! A PatchOp request (RFC 7644 §3.5.2): its types, the options and outcome of
//! [`super::apply`], and the parsing of the body (keys and `op` in any case, as Entra ID
//! sends them).

use crate::error::{ScimError, ScimResult};
use crate::filter::Filter;
use crate::json::{clip_detail, get_ci, json_kind, refuse_nul};
use crate::limits::Limits;
use crate::path::PatchPath;
use serde_json::Value;

/// The `op` of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `replace`
    Replace,
}

impl PatchOpKind {
    /// The keyword as RFC 7644 spells it: `add`, `remove`, `replace`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }

    /// Reads an `op` keyword in any case (`add`, `Add`, `REPLACE`...); `None` for others.
    pub fn parse(op: &str) -> Option<PatchOpKind> {
        [PatchOpKind::Add, PatchOpKind::Remove, PatchOpKind::Replace]
            .into_iter()
            .find(|k| op.eq_ignore_ascii_case(k.as_str()))
    }
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOpKind,
    /// The target, if any.
    pub path: Option<PatchPath>,
    /// The value, if any (`Some(Value::Null)` when the body says `"value": null`).
    pub value: Option<Value>,
}

/// A parsed PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, in request order.
    pub operations: Vec<PatchOperation>,
}

/// What a blank value (`null`, `""`) in an add/replace does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlankPolicy {
    /// Leave the stored value as it was (the product default).
    #[default]
    Ignore,
    /// Clear the attribute.
    Clear,
}

/// Options of [`apply`](super::apply).
#[derive(Debug, Clone, Default)]
pub struct PatchOptions {
    /// Blank-value policy. An empty `manager` always removes it; `remove` always removes.
    pub blank_policy: BlankPolicy,
    /// What the changed attributes and the member operations must stay within.
    pub limits: Limits,
}

/// An operation on Group membership, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    /// Add these member ids (already-present ids are not an error).
    Add(Vec<String>),
    /// Remove these member ids (absent ids are not an error).
    Remove(Vec<String>),
    /// Remove members whose `{value, display, type, $ref}` element matches the filter.
    RemoveWhere(Filter),
    /// Remove every member.
    RemoveAll,
    /// Replace the member set with these ids.
    Replace(Vec<String>),
}

impl MemberOp {
    /// How many member ids the operation names (0 for [`MemberOp::RemoveWhere`] and
    /// [`MemberOp::RemoveAll`]).
    pub fn id_count(&self) -> usize {
        match self {
            MemberOp::Add(ids) | MemberOp::Remove(ids) | MemberOp::Replace(ids) => ids.len(),
            MemberOp::RemoveWhere(_) | MemberOp::RemoveAll => 0,
        }
    }
}

/// What [`apply`](super::apply) did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatchOutcome {
    /// Membership operations, in order.
    pub member_ops: Vec<MemberOp>,
    /// Canonical names of the top-level attributes changed (`name`, `emails`,
    /// `urn:...:enterprise:2.0:User:department`), without duplicates, in first-change order.
    /// Only attributes whose final value differs from the value before the request are
    /// listed (an operation writing the same value, or a later one setting it back, is not
    /// a change). `members` never appears here: see [`PatchOutcome::member_ops`].
    pub changed: Vec<String>,
    /// Notes about ignored input (readOnly attribute, unknown attribute), for the log.
    /// They name attributes, never values; at most 50, then "further warnings omitted".
    pub warnings: Vec<String>,
    /// Canonical paths an `add` or `replace` gave a blank value (`null`, `""`, or a value
    /// that coerces to nothing): `name`, `name.givenName`, `emails`, `emails.value`,
    /// `urn:...:enterprise:2.0:User:department`, in first-seen order, whether the blank
    /// policy kept or cleared what was stored (for rules that refuse a blank whatever the
    /// policy says). A blank `manager` (which always removes it) is not listed.
    pub blanks: Vec<String>,
}

impl PatchRequest {
    /// Parses a PatchOp body. `schemas` is not required to be exact; `Operations`, `op`,
    /// `path`, `value` keys match in any case; `op` in any case. An empty or `null` `path`
    /// is read as no path.
    ///
    /// Errors: 400 invalidSyntax (not an object, no or empty `Operations`, unknown op),
    /// 400 invalidPath / invalidFilter for a bad `path`, 400 invalidValue for an
    /// `add`/`replace` without `value`.
    pub fn parse(body: &Value) -> ScimResult<PatchRequest> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::invalid_syntax(
                "a PATCH body must be a JSON object with an \"Operations\" array",
            )
        })?;
        let ops = match get_ci(obj, "Operations") {
            Some(Value::Array(a)) => a,
            Some(other) => return Err(not_a("Operations", "an array", other)),
            None => {
                return Err(ScimError::invalid_syntax(
                    "the PATCH body has no \"Operations\" array",
                ))
            }
        };
        if ops.is_empty() {
            return Err(ScimError::invalid_syntax(
                "\"Operations\" is empty: a PATCH needs at least one operation",
            ));
        }
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, raw)| parse_operation(raw).map_err(|e| at_operation(i + 1, e)))
            .collect::<ScimResult<Vec<_>>>()?;
        Ok(PatchRequest { operations })
    }
}

fn parse_operation(raw: &Value) -> ScimResult<PatchOperation> {
    let obj = raw.as_object().ok_or_else(|| {
        ScimError::invalid_syntax(
            "an operation must be a JSON object with \"op\", \"path\" and \"value\"",
        )
    })?;
    let op = match get_ci(obj, "op") {
        Some(Value::String(s)) => PatchOpKind::parse(s).ok_or_else(|| {
            ScimError::invalid_syntax(format!(
                "unknown op \"{}\": expected add, remove or replace",
                clip_detail(s)
            ))
        })?,
        Some(other) => return Err(not_a("op", "a string (add, remove or replace)", other)),
        None => {
            return Err(ScimError::invalid_syntax(
                "the operation has no \"op\" (add, remove or replace)",
            ))
        }
    };
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(PatchPath::parse(s.trim())?),
        Some(other) => {
            return Err(ScimError::invalid_path(format!(
                "\"path\" must be a string, not {}",
                json_kind(other)
            )))
        }
    };
    let value = get_ci(obj, "value").cloned();
    if op != PatchOpKind::Remove && value.is_none() {
        return Err(missing_value(op));
    }
    if let Some(v) = &value {
        refuse_nul(v)?;
    }
    Ok(PatchOperation { op, path, value })
}

/// 400 invalidSyntax for member `name` of a PATCH body or operation holding `got`, where
/// the request needs `expected` (e.g. "an array").
fn not_a(name: &str, expected: &str, got: &Value) -> ScimError {
    let kind = json_kind(got);
    ScimError::invalid_syntax(format!("\"{name}\" must be {expected}, not {kind}"))
}

pub(super) fn missing_value(kind: PatchOpKind) -> ScimError {
    ScimError::invalid_value(format!("\"{}\" needs a \"value\"", kind.as_str()))
}

pub(super) fn at_operation(n: usize, e: ScimError) -> ScimError {
    ScimError {
        detail: format!("operation {n}: {}", e.detail),
        ..e
    }
}
