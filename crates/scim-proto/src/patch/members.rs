//! Group `members` in both of Entra ID's dialects: `add`/`replace` with a value array,
//! `remove` with `members[value eq "id"]` (or an `or` chain), or with `path: members` and a
//! value array. Never touches the document: the result is [`MemberOp`]s for the caller.

use super::elements::is_blank;
use super::request::{missing_value, MemberOp, PatchOpKind};
use super::resolve::Patcher;
use crate::error::{ScimError, ScimResult};
use crate::filter::{CompValue, Filter};
use crate::json::{get_ci, json_kind};
use crate::path::PatchPath;
use serde_json::Value;
use std::collections::HashSet;

impl Patcher<'_> {
    /// Group `members`: never touches the document.
    pub(super) fn members_op(&mut self, p: &PatchPath, value: Option<&Value>) -> ScimResult<()> {
        if p.attr.sub_attr.is_some() || p.sub_attr_after_filter.is_some() {
            return Err(ScimError::invalid_path(
                "sub-attributes of \"members\" cannot be patched: add or remove whole members",
            ));
        }
        let op = match (self.kind, &p.filter) {
            (PatchOpKind::Remove, Some(f)) => Some(match value_eq_ids(f) {
                Some(ids) => MemberOp::Remove(ids),
                None => MemberOp::RemoveWhere(f.clone()),
            }),
            (PatchOpKind::Remove, None) => match value {
                None => Some(MemberOp::RemoveAll),
                Some(v) if is_blank(v) => Some(MemberOp::RemoveAll),
                Some(v) => non_empty(member_ids(v)?).map(MemberOp::Remove),
            },
            (PatchOpKind::Replace, Some(_)) => {
                return Err(ScimError::invalid_path("replace of one member is not supported; use add/remove"))
            }
            (PatchOpKind::Add, Some(_)) => {
                return Err(ScimError::invalid_path(
                    "add to \"members\" takes the path \"members\" and a \"value\" array, not a value filter",
                ))
            }
            (PatchOpKind::Add, None) => {
                let v = value.ok_or_else(|| missing_value(self.kind))?;
                if is_blank(v) {
                    None
                } else {
                    non_empty(member_ids(v)?).map(MemberOp::Add)
                }
            }
            (PatchOpKind::Replace, None) => {
                let v = value.ok_or_else(|| missing_value(self.kind))?;
                if is_blank(v) {
                    self.clear_blanks.then(|| MemberOp::Replace(Vec::new()))
                } else {
                    Some(MemberOp::Replace(member_ids(v)?))
                }
            }
        };
        if let Some(op) = op {
            self.out.member_ops.push(op);
        }
        Ok(())
    }
}

/// The ids of `value eq "id"` or an `or` chain of those; `None` for any other filter.
fn value_eq_ids(f: &Filter) -> Option<Vec<String>> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    for f in f.disjuncts() {
        match f.bare_eq()? {
            (name, CompValue::String(id)) if name.eq_ignore_ascii_case("value") => {
                if seen.insert(id.as_str()) {
                    ids.push(id.clone());
                }
            }
            _ => return None,
        }
    }
    Some(ids)
}

/// Member ids from `[{"value": id}, ...]` (also a single object, or bare id strings), in
/// order, duplicates removed. O(n).
fn member_ids(v: &Value) -> ScimResult<Vec<String>> {
    let items = match v {
        Value::Array(a) => a.as_slice(),
        other => std::slice::from_ref(other),
    };
    let mut seen = HashSet::with_capacity(items.len());
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let id =
            match item {
                Value::Object(o) => match get_ci(o, "value") {
                    Some(Value::String(s)) => s.as_str(),
                    _ => return Err(ScimError::invalid_value(
                        "each member must be an object with a string \"value\" (the member's id)",
                    )),
                },
                Value::String(s) => s.as_str(),
                other => {
                    return Err(ScimError::invalid_value(format!(
                        "each member must be an object with a string \"value\", not {}",
                        json_kind(other)
                    )))
                }
            };
        if id.is_empty() {
            return Err(ScimError::invalid_value(
                "a member's \"value\" (its id) is empty",
            ));
        }
        if seen.insert(id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

fn non_empty(ids: Vec<String>) -> Option<Vec<String>> {
    (!ids.is_empty()).then_some(ids)
}
