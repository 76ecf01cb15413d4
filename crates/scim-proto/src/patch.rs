//! The PATCH engine (RFC 7644 §3.5.2), with the dialects Microsoft Entra ID sends.
//!
//! [`PatchRequest::parse`] reads a PatchOp body (keys and `op` in any case);
//! [`apply`] applies its operations in order to a canonical document (see
//! [`crate::normalize`]). Group `members` are not part of the document: operations on
//! them come back as [`MemberOp`]s, in order, for the caller to apply to membership rows.
//!
//! # Behaviour
//!
//! Targets and values:
//! - Without a `path`, `add`/`replace` take an object whose keys are each read as a PATCH
//!   path: attribute names in any case, dotted paths (`name.givenName`), full-URN paths
//!   (`urn:...:enterprise:2.0:User:department`), value paths
//!   (`emails[type eq "work"].value`, as Entra sends them), or an extension URN whose
//!   object value is merged into that extension. A `schemas` key is ignored.
//!   A `path` naming an extension URN works the same way (`remove` drops the extension).
//! - Every value written goes through [`normalize::coerce_value`] (types, `"True"`/`"False"`
//!   booleans, canonical sub-attribute names, `manager` shapes); blank, unknown and
//!   readOnly sub-attributes are dropped from complex values (with a warning for the
//!   unknown and readOnly ones when they are merged one by one).
//! - `add` on a single-valued attribute replaces it; on a multi-valued attribute it appends
//!   the values that are not already present (exact duplicates are skipped). `replace` on
//!   a multi-valued attribute without a filter replaces the whole array (`[]` clears it).
//!   `add`/`replace` on a complex single-valued attribute (`name`) merge the given
//!   sub-attributes and leave the others unchanged (RFC 7644 §3.5.2.3). `manager` is always
//!   stored as `{"value": id}` and replaced whole; `manager.$ref` and
//!   `manager.displayName` are rendered by the server, so paths to them are ignored with
//!   a warning.
//! - A value filter with a sub-attribute (`emails[type eq "work"].value`) sets the
//!   sub-attribute on every matching element; when none matches, a new element is created
//!   from the filter's `eq` comparisons (joined by `and`) plus the sub-attribute (Entra
//!   relies on this; a filter that is not such a chain gives 400 noTarget). Without a
//!   sub-attribute, an object value is merged into the matching elements (or creates one).
//! - Setting `primary: true` on one element sets `primary: false` on the others
//!   (RFC 7644 §3.5.2).
//! - `remove` needs a path (400 noTarget). Removing an absent attribute, or with a filter
//!   that matches nothing, is not an error (Entra retries and relies on idempotency).
//!   `remove` of a multi-valued attribute with a `value` removes only the elements that
//!   carry all the given sub-attribute values (a single-valued attribute is removed
//!   whatever the value). Removing a filtered sub-attribute (`emails[type eq "work"].value`)
//!   drops the elements left without their `value`.
//! - At the end of a request, elements that mean nothing (no `value`; for attributes
//!   without one, nothing but `type`/`primary`/`display`) are dropped, and keys are put in
//!   the order [`normalize::normalize_resource`] gives, so the document is exactly what a
//!   PUT of the same content would store.
//!
//! Blank values (`null`, `""`, or a value that coerces to nothing) in `add`/`replace`
//! follow [`PatchOptions::blank_policy`]: leave the stored value (`Ignore`) or remove it
//! (`Clear`). A blank `manager` (`""`, `{"value":""}`, `null`) always removes it.
//!
//! Ignored with a warning in [`PatchOutcome::warnings`] (never an error, because Entra sends
//! them): readOnly targets (`id`, `meta`, `groups`, `manager.displayName`), `schemas`,
//! unknown attributes of a known schema (e.g. unregistered custom extension attributes),
//! attributes of unknown schemas. `password` is accepted and dropped; no warning carries
//! a value. At most 50 warnings are kept per request.
//!
//! Group `members` (only for the Group resource type): `add` → [`MemberOp::Add`],
//! `replace` → [`MemberOp::Replace`] (`[]` removes every member), `remove` without value →
//! [`MemberOp::RemoveAll`], `remove` with a `value` array (Entra without
//! `aadOptscim062020`) → [`MemberOp::Remove`] of those ids, `remove` with
//! `members[value eq "id"]` (or an `or` chain of those) → [`MemberOp::Remove`], any other
//! filter → [`MemberOp::RemoveWhere`]. `replace` on a filtered member path and
//! sub-attribute paths of `members` are 400 invalidPath. Member ids are not checked here.
//!
//! Errors: 400 invalidSyntax (body shape, unknown `op`), invalidPath (bad path, a filter on
//! a single-valued attribute), invalidFilter (bad or unknown attribute in a value filter),
//! invalidValue (missing or mistyped value, removing or blanking `userName` / a Group's
//! `displayName`), noTarget (see above), mutability (changing an immutable attribute that
//! has a value). Details start with `operation N:`.

use crate::canonical::{canonical_order, order_value};
use crate::error::{ScimError, ScimResult};
use crate::filter::{self, CompValue, CompareOp, Filter};
use crate::normalize;
use crate::path::{AttrPath, PatchPath};
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceSchema};
use crate::warnings::Warnings;
use serde_json::{Map, Value};
use std::collections::HashSet;

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

/// Options of [`apply`].
#[derive(Debug, Clone, Default)]
pub struct PatchOptions {
    /// Blank-value policy. An empty `manager` always removes it; `remove` always removes.
    pub blank_policy: BlankPolicy,
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

/// What [`apply`] did.
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
            Some(other) => {
                return Err(ScimError::invalid_syntax(format!(
                    "\"Operations\" must be an array, not {}",
                    json_kind(other)
                )))
            }
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
                clip(s)
            ))
        })?,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "\"op\" must be a string (add, remove or replace), not {}",
                json_kind(other)
            )))
        }
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
    Ok(PatchOperation { op, path, value })
}

/// Applies `req` to `doc` in order; on error `doc` may be partly changed and the caller
/// must discard it (atomicity is the caller's: it writes nothing). A `null` `doc` is
/// treated as an empty document.
///
/// Errors: 400 noTarget (remove without path; add/replace through a value filter that
/// matches nothing and cannot create an element), 400 invalidPath (malformed target,
/// value filter on a single-valued attribute, unsupported `members` path), 400 mutability
/// (changing an immutable attribute that has a value), 400 invalidValue (wrong type,
/// missing value, removing `userName` or a Group's `displayName`). Unknown and readOnly
/// attributes are not errors: see [`PatchOutcome::warnings`].
pub fn apply(
    doc: &mut Value,
    req: &PatchRequest,
    schema: &ResourceSchema,
    opts: &PatchOptions,
) -> ScimResult<PatchOutcome> {
    if doc.is_null() {
        *doc = Value::Object(Map::new());
    }
    let Value::Object(map) = doc else {
        return Err(ScimError::internal(
            "the stored resource is not a JSON object",
        ));
    };
    let mut patcher = Patcher {
        schema,
        clear_blanks: opts.blank_policy == BlankPolicy::Clear,
        out: PatchOutcome::default(),
        warnings: Warnings::default(),
    };
    let original = map.clone();
    for (i, op) in req.operations.iter().enumerate() {
        patcher
            .operation(map, op)
            .map_err(|e| at_operation(i + 1, e))?;
    }
    if !patcher.out.changed.is_empty() {
        drop_hollow_elements(map, schema);
        // The one key order a PUT of the same content stores (byte-identical documents).
        *map = canonical_order(std::mem::take(map), schema);
        // An attribute set and set back, or an element created and then dropped as hollow,
        // is not a change.
        patcher
            .out
            .changed
            .retain(|name| value_at(&original, name, schema) != value_at(map, name, schema));
    }
    patcher.out.warnings = patcher.warnings.into_vec();
    Ok(patcher.out)
}

/// Where an attribute lives: the extension URN key (canonical) or the top level.
#[derive(Clone, Copy)]
struct Target<'s> {
    ext: Option<&'s str>,
    attr: &'s AttributeDef,
}

impl Target<'_> {
    fn changed_name(&self) -> String {
        match self.ext {
            None => self.attr.name.clone(),
            Some(urn) => format!("{urn}:{}", self.attr.name),
        }
    }
}

enum Lookup<'s> {
    Found(Target<'s>),
    Password,
    Schemas,
    UnknownSchema,
    Unknown,
}

struct Patcher<'s> {
    schema: &'s ResourceSchema,
    clear_blanks: bool,
    out: PatchOutcome,
    warnings: Warnings,
}

impl<'s> Patcher<'s> {
    fn warn(&mut self, w: String) {
        self.warnings.push(w);
    }

    fn record(&mut self, name: String) {
        if !self.out.changed.contains(&name) {
            self.out.changed.push(name);
        }
    }

    fn operation(&mut self, doc: &mut Map<String, Value>, op: &PatchOperation) -> ScimResult<()> {
        match &op.path {
            Some(p) => self.path_op(doc, op.op, p, op.value.as_ref()),
            None => self.resource_op(doc, op.op, op.value.as_ref()),
        }
    }

    /// A path-less operation: the value is an object of attributes.
    fn resource_op(
        &mut self,
        doc: &mut Map<String, Value>,
        kind: PatchOpKind,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if kind == PatchOpKind::Remove {
            return Err(ScimError::no_target(
                "\"remove\" needs a \"path\" naming what to remove",
            ));
        }
        let value = value.ok_or_else(|| missing_value(kind))?;
        let obj = value.as_object().ok_or_else(|| {
            ScimError::invalid_value(format!(
                "without a \"path\", the \"value\" of \"{}\" must be an object of attributes, not {}",
                kind.as_str(),
                json_kind(value)
            ))
        })?;
        for (key, v) in obj {
            self.key_op(doc, kind, key, v)?;
        }
        Ok(())
    }

    /// One key of a path-less value object.
    fn key_op(
        &mut self,
        doc: &mut Map<String, Value>,
        kind: PatchOpKind,
        key: &str,
        v: &Value,
    ) -> ScimResult<()> {
        let schema = self.schema;
        if key.eq_ignore_ascii_case("schemas") {
            return Ok(());
        }
        if let Some(ext) = schema.extension(key) {
            return self.extension_op(doc, kind, &ext.schema.id, Some(v));
        }
        if key.eq_ignore_ascii_case(&schema.core.id) {
            return self.resource_op(doc, kind, Some(v));
        }
        let p = PatchPath::parse(key).map_err(|e| ScimError {
            detail: format!("attribute \"{}\" in \"value\": {}", clip(key), e.detail),
            ..e
        })?;
        self.path_op(doc, kind, &p, Some(v))
    }

    /// An operation on a whole extension (`urn:...:enterprise:2.0:User` as path or key).
    fn extension_op(
        &mut self,
        doc: &mut Map<String, Value>,
        kind: PatchOpKind,
        urn: &'s str,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if kind == PatchOpKind::Remove {
            self.remove_extension(doc, urn);
            return Ok(());
        }
        let value = value.ok_or_else(|| missing_value(kind))?;
        if is_blank(value) {
            if self.clear_blanks {
                self.remove_extension(doc, urn);
            }
            return Ok(());
        }
        let obj = value.as_object().ok_or_else(|| {
            ScimError::invalid_value(format!(
                "the value for \"{urn}\" must be an object of its attributes, not {}",
                json_kind(value)
            ))
        })?;
        for (k, v) in obj {
            if k.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let p = PatchPath::parse(&format!("{urn}:{k}")).map_err(|e| ScimError {
                detail: format!("attribute \"{}\" of \"{urn}\": {}", clip(k), e.detail),
                ..e
            })?;
            self.path_op(doc, kind, &p, Some(v))?;
        }
        Ok(())
    }

    fn remove_extension(&mut self, doc: &mut Map<String, Value>, urn: &str) {
        if let Some(Value::Object(m)) = doc.shift_remove(urn) {
            for k in m.keys() {
                self.record(format!("{urn}:{k}"));
            }
        }
    }

    fn lookup(&self, path: &AttrPath) -> Lookup<'s> {
        let schema: &'s ResourceSchema = self.schema;
        let core_scope = path
            .uri
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(&schema.core.id));
        if core_scope && path.attr.eq_ignore_ascii_case("password") {
            return Lookup::Password;
        }
        if core_scope && path.attr.eq_ignore_ascii_case("schemas") {
            return Lookup::Schemas;
        }
        let top = AttrPath {
            uri: path.uri.clone(),
            attr: path.attr.clone(),
            sub_attr: None,
        };
        match schema.resolve_any(&top) {
            Some(r) => Lookup::Found(Target {
                ext: r.is_extension.then_some(r.schema_urn),
                attr: r.attr,
            }),
            None => match path.uri.as_deref() {
                Some(u) if !core_scope && schema.extension(u).is_none() => Lookup::UnknownSchema,
                _ => Lookup::Unknown,
            },
        }
    }

    fn path_op(
        &mut self,
        doc: &mut Map<String, Value>,
        kind: PatchOpKind,
        p: &PatchPath,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let schema: &'s ResourceSchema = self.schema;
        // A path that is a whole schema URN.
        if p.filter.is_none() && p.sub_attr_after_filter.is_none() && p.attr.sub_attr.is_none() {
            if let Some(uri) = &p.attr.uri {
                let full = format!("{uri}:{}", p.attr.attr);
                if let Some(ext) = schema.extension(&full) {
                    return self.extension_op(doc, kind, &ext.schema.id, value);
                }
                if full.eq_ignore_ascii_case(&schema.core.id) {
                    return self.resource_op(doc, kind, value);
                }
            }
        }
        let t = match self.lookup(&p.attr) {
            Lookup::Found(t) => t,
            Lookup::Password => {
                self.warn("ignored \"password\": passwords are not stored".to_string());
                return Ok(());
            }
            Lookup::Schemas => {
                self.warn("ignored \"schemas\": the server sets it".to_string());
                return Ok(());
            }
            Lookup::UnknownSchema => {
                let uri = p.attr.uri.as_deref().unwrap_or_default();
                self.warn(format!(
                    "ignored attribute '{}' of unknown schema '{}'",
                    clip(&p.attr.attr),
                    clip(uri)
                ));
                return Ok(());
            }
            Lookup::Unknown => {
                self.warn(format!(
                    "ignored unknown attribute '{}'",
                    clip(&display(&p.attr))
                ));
                return Ok(());
            }
        };
        if t.ext.is_none() && schema.is_group() && t.attr.name.eq_ignore_ascii_case("members") {
            if let Some(f) = &p.filter {
                filter::validate_value_filter(f, t.attr)?;
            }
            return self.members_op(kind, p, value);
        }
        if t.attr.mutability == Mutability::ReadOnly {
            self.warn(format!("ignored readOnly attribute '{}'", t.changed_name()));
            return Ok(());
        }
        let sub_name = match (&p.attr.sub_attr, &p.sub_attr_after_filter) {
            (Some(_), Some(_)) => {
                return Err(ScimError::invalid_path(format!(
                    "'{}' names a sub-attribute both before and after the value filter",
                    t.attr.name
                )))
            }
            (a, b) => a.as_deref().or(b.as_deref()),
        };
        let sub = match sub_name {
            None => None,
            Some(s) => match t.attr.sub(s) {
                Some(d) if is_manager(t.attr) && d.name != "value" => {
                    self.warn(format!(
                        "ignored '{}.{}': the server renders it from the manager's id",
                        t.changed_name(),
                        d.name
                    ));
                    return Ok(());
                }
                Some(d) if d.mutability == Mutability::ReadOnly => {
                    self.warn(format!(
                        "ignored readOnly attribute '{}.{}'",
                        t.changed_name(),
                        d.name
                    ));
                    return Ok(());
                }
                Some(d) => Some(d),
                None => {
                    self.warn(format!(
                        "ignored unknown attribute '{}.{}'",
                        t.changed_name(),
                        clip(s)
                    ));
                    return Ok(());
                }
            },
        };
        if let Some(f) = &p.filter {
            if !t.attr.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "'{}' is single-valued: a value filter needs a multi-valued attribute",
                    t.attr.name
                )));
            }
            filter::validate_value_filter(f, t.attr)?;
        }
        let before = slot(doc, &t).cloned();
        let res = self.attr_op(
            slot_mut(doc, &t),
            kind,
            t.attr,
            sub,
            p.filter.as_ref(),
            value,
        );
        tidy_extension(doc, &t);
        res?;
        let after = slot(doc, &t);
        if before.as_ref() != after {
            if t.attr.mutability == Mutability::Immutable && before.is_some() {
                return Err(ScimError::mutability(format!(
                    "'{}' is immutable and already has a value",
                    t.changed_name()
                )));
            }
            let filled = after
                .and_then(Value::as_str)
                .is_some_and(|s| !s.trim().is_empty());
            if !filled && self.is_enforced_required(&t) {
                return Err(ScimError::invalid_value(format!(
                    "'{}' is required and cannot be removed or blank",
                    t.attr.name
                )));
            }
            self.record(t.changed_name());
        }
        Ok(())
    }

    /// The required attributes PATCH refuses to remove or blank out (the ones
    /// [`normalize::normalize_resource`] enforces, with its rule: a string that is not
    /// only whitespace): `userName`, and a Group's `displayName`.
    fn is_enforced_required(&self, t: &Target<'_>) -> bool {
        t.ext.is_none()
            && ((self.schema.is_user() && t.attr.name == "userName")
                || (self.schema.is_group() && t.attr.name == "displayName"))
    }

    fn attr_op(
        &mut self,
        map: &mut Map<String, Value>,
        kind: PatchOpKind,
        attr: &AttributeDef,
        sub: Option<&AttributeDef>,
        filter: Option<&Filter>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if kind == PatchOpKind::Remove {
            return self.remove(map, attr, sub, filter, value);
        }
        let value = value.ok_or_else(|| missing_value(kind))?;
        match (filter, sub) {
            (Some(f), _) => self.set_filtered(map, kind, attr, f, sub, value),
            (None, Some(s)) => self.set_sub(map, attr, s, value),
            (None, None) => self.set_whole(map, kind, attr, value),
        }
    }

    fn blank(&self, map: &mut Map<String, Value>, name: &str) {
        if self.clear_blanks {
            map.shift_remove(name);
        }
    }

    /// `add`/`replace` of a whole attribute.
    fn set_whole(
        &mut self,
        map: &mut Map<String, Value>,
        kind: PatchOpKind,
        attr: &AttributeDef,
        raw: &Value,
    ) -> ScimResult<()> {
        let name = attr.name.as_str();
        if is_manager(attr) {
            let c = if is_blank(raw) {
                Value::Null
            } else {
                self.coerce(attr, raw)?
            };
            if is_blank_manager(&c) {
                map.shift_remove(name);
            } else {
                map.insert(name.to_string(), c);
            }
            return Ok(());
        }
        if is_blank(raw) {
            self.blank(map, name);
            return Ok(());
        }
        if attr.multi_valued {
            if raw.as_array().is_some_and(|a| a.is_empty()) {
                if kind == PatchOpKind::Replace {
                    map.shift_remove(name);
                }
                return Ok(());
            }
            let c = self.coerce(attr, raw)?;
            if c.is_null() {
                self.blank(map, name);
                return Ok(());
            }
            let new = elements(c);
            let mut arr = match kind {
                PatchOpKind::Replace => Vec::with_capacity(new.len()),
                _ => array_of(map, name),
            };
            // Exact duplicates are skipped; elements compare in canonical sub-attribute order.
            let mut present: HashSet<String> = arr.iter().map(|e| element_key(attr, e)).collect();
            let mut winner = None;
            for e in new {
                if e.is_null() || !present.insert(element_key(attr, &e)) {
                    continue;
                }
                arr.push(e);
                if is_primary(&arr[arr.len() - 1]) && (kind == PatchOpKind::Add || winner.is_none())
                {
                    winner = Some(arr.len() - 1);
                }
            }
            enforce_single_primary(&mut arr, winner);
            put_array(map, name, arr);
            return Ok(());
        }
        if attr.ty == AttrType::Complex {
            if let Value::Object(o) = raw {
                return self.merge_complex(map, attr, o);
            }
        }
        match self.coerce(attr, raw)? {
            Value::Null => self.blank(map, name),
            c => {
                map.insert(name.to_string(), c);
            }
        }
        Ok(())
    }

    /// Merges the sub-attributes of `o` into the complex single-valued attribute `attr`
    /// (RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged).
    fn merge_complex(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        o: &Map<String, Value>,
    ) -> ScimResult<()> {
        let (fields, blanks) = self.coerce_fields(attr, o)?;
        let mut cur = match map.get(&attr.name) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        cur.extend(fields);
        if self.clear_blanks {
            for b in &blanks {
                cur.shift_remove(b);
            }
        }
        if cur.is_empty() {
            map.shift_remove(&attr.name);
        } else {
            map.insert(attr.name.clone(), Value::Object(cur));
        }
        Ok(())
    }

    /// `add`/`replace` of `attr.sub` without a value filter (`name.givenName`, `emails.value`).
    fn set_sub(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        sub: &AttributeDef,
        raw: &Value,
    ) -> ScimResult<()> {
        let name = attr.name.as_str();
        let c = if is_blank(raw) {
            Value::Null
        } else {
            self.coerce(sub, raw)?
        };
        if is_manager(attr) && sub.name == "value" {
            if is_blank(&c) {
                map.shift_remove(name);
            } else if map.get(name).and_then(|m| m.get(&sub.name)) != Some(&c) {
                map.insert(name.to_string(), object1(&sub.name, c));
            }
            return Ok(());
        }
        if attr.multi_valued {
            let mut arr = array_of(map, name);
            if is_blank(&c) {
                if !self.clear_blanks {
                    return Ok(());
                }
                let all: Vec<usize> = (0..arr.len()).collect();
                for e in arr.iter_mut() {
                    remove_key(e, &sub.name);
                }
                drop_hollow(&mut arr, attr, &all);
            } else if arr.is_empty() {
                arr.push(object1(&sub.name, c));
            } else {
                let sets_primary = sub.name == "primary" && c == Value::Bool(true);
                for e in arr.iter_mut() {
                    if let Value::Object(o) = e {
                        o.insert(sub.name.clone(), c.clone());
                    }
                }
                if sets_primary {
                    enforce_single_primary(&mut arr, Some(0));
                }
            }
            put_array(map, name, arr);
            return Ok(());
        }
        if is_blank(&c) {
            if self.clear_blanks {
                if let Some(Value::Object(o)) = map.get_mut(name) {
                    o.shift_remove(&sub.name);
                    if o.is_empty() {
                        map.shift_remove(name);
                    }
                }
            }
            return Ok(());
        }
        match map.get_mut(name) {
            Some(Value::Object(o)) => {
                o.insert(sub.name.clone(), c);
            }
            _ => {
                map.insert(name.to_string(), object1(&sub.name, c));
            }
        }
        Ok(())
    }

    /// `add`/`replace` through a value filter: `emails[type eq "work"].value`, `emails[type eq "work"]`.
    fn set_filtered(
        &mut self,
        map: &mut Map<String, Value>,
        kind: PatchOpKind,
        attr: &AttributeDef,
        f: &Filter,
        sub: Option<&AttributeDef>,
        raw: &Value,
    ) -> ScimResult<()> {
        let name = attr.name.as_str();
        let mut arr = array_of(map, name);
        let matched: Vec<usize> = (0..arr.len())
            .filter(|&i| filter::matches_element(f, &arr[i], attr))
            .collect();
        let touched = match sub {
            Some(s) => {
                let c = if is_blank(raw) {
                    Value::Null
                } else {
                    self.coerce(s, raw)?
                };
                if is_blank(&c) {
                    if !self.clear_blanks || matched.is_empty() {
                        return Ok(());
                    }
                    for &i in &matched {
                        remove_key(&mut arr[i], &s.name);
                    }
                    drop_hollow(&mut arr, attr, &matched);
                    put_array(map, name, arr);
                    return Ok(());
                }
                if matched.is_empty() {
                    let mut el =
                        element_from_filter(f, attr).ok_or_else(|| no_match(attr, kind))?;
                    el.insert(s.name.clone(), c);
                    arr.push(Value::Object(el));
                    vec![arr.len() - 1]
                } else {
                    for &i in &matched {
                        if let Value::Object(o) = &mut arr[i] {
                            o.insert(s.name.clone(), c.clone());
                        }
                    }
                    matched
                }
            }
            None => {
                let one = match raw {
                    Value::Array(a) if a.len() == 1 => &a[0],
                    Value::Array(a) if a.len() > 1 => {
                        return Err(ScimError::invalid_value(format!(
                            "a path with a value filter on '{name}' takes one value, not {}",
                            a.len()
                        )))
                    }
                    other => other,
                };
                let blank = match one {
                    Value::Array(_) => true,
                    Value::Object(o) => o.values().all(is_blank),
                    other => is_blank(other),
                };
                if blank {
                    if self.clear_blanks && !matched.is_empty() {
                        remove_indices(&mut arr, &matched);
                        put_array(map, name, arr);
                    }
                    return Ok(());
                }
                if attr.ty == AttrType::Complex {
                    let Value::Object(o) = one else {
                        return Err(ScimError::invalid_value(format!(
                            "a value of '{name}' must be an object, not {}",
                            json_kind(one)
                        )));
                    };
                    let (fields, blanks) = self.coerce_fields(attr, o)?;
                    let blanks = if self.clear_blanks {
                        blanks
                    } else {
                        Vec::new()
                    };
                    if matched.is_empty() {
                        if fields.is_empty() {
                            return Ok(());
                        }
                        let mut el =
                            element_from_filter(f, attr).ok_or_else(|| no_match(attr, kind))?;
                        el.extend(fields);
                        arr.push(Value::Object(el));
                        vec![arr.len() - 1]
                    } else {
                        for &i in &matched {
                            if let Value::Object(e) = &mut arr[i] {
                                e.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                                for b in &blanks {
                                    e.shift_remove(b);
                                }
                            }
                        }
                        let winner = matched.iter().rev().copied().find(|&i| is_primary(&arr[i]));
                        enforce_single_primary(&mut arr, winner);
                        drop_hollow(&mut arr, attr, &matched);
                        Vec::new()
                    }
                } else {
                    let c = elements(self.coerce(attr, one)?);
                    let Some(c) = c.into_iter().next() else {
                        return Ok(());
                    };
                    if matched.is_empty() {
                        return Err(no_match(attr, kind));
                    }
                    for &i in &matched {
                        arr[i] = c.clone();
                    }
                    matched
                }
            }
        };
        let winner = touched.iter().rev().copied().find(|&i| is_primary(&arr[i]));
        enforce_single_primary(&mut arr, winner);
        put_array(map, name, arr);
        Ok(())
    }

    /// `remove`, with or without sub-attribute, filter or value.
    fn remove(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        sub: Option<&AttributeDef>,
        filter: Option<&Filter>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let name = attr.name.as_str();
        if !map.contains_key(name) {
            return Ok(());
        }
        if let Some(f) = filter {
            let mut arr = array_of(map, name);
            let matched: Vec<usize> = (0..arr.len())
                .filter(|&i| filter::matches_element(f, &arr[i], attr))
                .collect();
            if matched.is_empty() {
                return Ok(());
            }
            match sub {
                None => remove_indices(&mut arr, &matched),
                Some(s) => {
                    for &i in &matched {
                        remove_key(&mut arr[i], &s.name);
                    }
                    drop_hollow(&mut arr, attr, &matched);
                }
            }
            put_array(map, name, arr);
            return Ok(());
        }
        match sub {
            Some(s) if is_manager(attr) && s.name == "value" => {
                map.shift_remove(name);
            }
            Some(s) if attr.multi_valued => {
                let mut arr = array_of(map, name);
                let all: Vec<usize> = (0..arr.len()).collect();
                for e in arr.iter_mut() {
                    remove_key(e, &s.name);
                }
                drop_hollow(&mut arr, attr, &all);
                put_array(map, name, arr);
            }
            Some(s) => {
                if let Some(Value::Object(o)) = map.get_mut(name) {
                    o.shift_remove(&s.name);
                    if o.is_empty() {
                        map.shift_remove(name);
                    }
                }
            }
            None => match value {
                Some(v) if attr.multi_valued && !is_blank(v) => self.remove_values(map, attr, v)?,
                _ => {
                    map.shift_remove(name);
                }
            },
        }
        Ok(())
    }

    /// `remove` of a multi-valued attribute with a `value`: drops the elements that carry
    /// every given sub-attribute value (or equal a given simple value).
    fn remove_values(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        v: &Value,
    ) -> ScimResult<()> {
        let given: Vec<Value> = elements(self.coerce(attr, v)?)
            .into_iter()
            .filter(|g| !g.is_null() && g.as_object().is_none_or(|o| !o.is_empty()))
            .collect();
        if given.is_empty() {
            return Ok(());
        }
        // One-sub-attribute values (`[{"value": "a"}, ...]`, the usual shape) are looked up
        // in a set, so that removing many values from a long array stays O(n + m).
        let mut singles: HashSet<(String, String)> = HashSet::new();
        let mut others = Vec::new();
        for g in given {
            match g
                .as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.iter().next())
            {
                Some((k, v)) => {
                    let fold = attr.sub(k).is_some_and(|d| !d.case_exact);
                    singles.insert((k.clone(), scalar_key(v, fold)));
                }
                None => others.push(g),
            }
        }
        let mut arr = array_of(map, &attr.name);
        arr.retain(|e| {
            let single_hit = match e {
                Value::Object(eo) => eo.iter().any(|(k, v)| {
                    let fold = attr.sub(k).is_some_and(|d| !d.case_exact);
                    singles.contains(&(k.clone(), scalar_key(v, fold)))
                }),
                _ => false,
            };
            !(single_hit || others.iter().any(|g| same_value(attr, e, g)))
        });
        put_array(map, &attr.name, arr);
        Ok(())
    }

    /// Group `members`: never touches the document.
    fn members_op(
        &mut self,
        kind: PatchOpKind,
        p: &PatchPath,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if p.attr.sub_attr.is_some() || p.sub_attr_after_filter.is_some() {
            return Err(ScimError::invalid_path(
                "sub-attributes of \"members\" cannot be patched: add or remove whole members",
            ));
        }
        let op = match (kind, &p.filter) {
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
                let v = value.ok_or_else(|| missing_value(kind))?;
                if is_blank(v) {
                    None
                } else {
                    non_empty(member_ids(v)?).map(MemberOp::Add)
                }
            }
            (PatchOpKind::Replace, None) => {
                let v = value.ok_or_else(|| missing_value(kind))?;
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

    fn coerce(&mut self, def: &AttributeDef, v: &Value) -> ScimResult<Value> {
        normalize::coerce_value(def, v)
    }

    /// Coerces the sub-attributes of one complex value one by one: unknown and readOnly
    /// ones are dropped with a warning, writeOnly ones silently; blank ones are returned
    /// apart (canonical names) for the blank policy.
    fn coerce_fields(
        &mut self,
        attr: &AttributeDef,
        o: &Map<String, Value>,
    ) -> ScimResult<(Map<String, Value>, Vec<String>)> {
        let mut out = Map::new();
        let mut blanks = Vec::new();
        for (k, v) in o {
            let Some(d) = attr.sub(k) else {
                self.warn(format!(
                    "ignored unknown attribute '{}.{}'",
                    attr.name,
                    clip(k)
                ));
                continue;
            };
            match d.mutability {
                Mutability::ReadOnly => {
                    self.warn(format!(
                        "ignored readOnly attribute '{}.{}'",
                        attr.name, d.name
                    ));
                    continue;
                }
                Mutability::WriteOnly => continue,
                _ => {}
            }
            let c = if is_blank(v) {
                Value::Null
            } else {
                normalize::coerce_value(d, v)?
            };
            if is_blank(&c) {
                out.shift_remove(&d.name);
                blanks.push(d.name.clone());
            } else {
                blanks.retain(|b| b != &d.name);
                out.insert(d.name.clone(), c);
            }
        }
        Ok((out, blanks))
    }
}

/// The value of a top-level attribute named as in [`PatchOutcome::changed`].
fn value_at<'d>(
    doc: &'d Map<String, Value>,
    name: &str,
    schema: &ResourceSchema,
) -> Option<&'d Value> {
    for ext in &schema.extensions {
        let urn = ext.schema.id.as_str();
        if let Some(attr) = name.strip_prefix(urn).and_then(|r| r.strip_prefix(':')) {
            return doc.get(urn)?.as_object()?.get(attr);
        }
    }
    doc.get(name)
}

/// Drops, at the end of a request, the elements of multi-valued complex attributes that
/// mean nothing (see [`is_hollow`]), as [`crate::normalize`] would: e.g. the element an
/// `add` of `emails[type eq "work"].primary` created when no operation gave its `value`.
fn drop_hollow_elements(doc: &mut Map<String, Value>, schema: &ResourceSchema) {
    fn in_object(o: &mut Map<String, Value>, defs: &[AttributeDef]) {
        for def in defs
            .iter()
            .filter(|d| d.multi_valued && d.ty == AttrType::Complex)
        {
            if let Some(Value::Array(a)) = o.get_mut(&def.name) {
                a.retain(|e| !is_hollow(def, e));
                if a.is_empty() {
                    o.shift_remove(&def.name);
                }
            }
        }
    }
    in_object(doc, &schema.core.attributes);
    for ext in &schema.extensions {
        if let Some(Value::Object(o)) = doc.get_mut(&ext.schema.id) {
            in_object(o, &ext.schema.attributes);
            if o.is_empty() {
                doc.shift_remove(&ext.schema.id);
            }
        }
    }
}

/// The element a filter describes, from its `eq` comparisons joined by `and`
/// (`type eq "work"` → `{"type":"work"}`); `None` when the filter is anything else.
fn element_from_filter(f: &Filter, attr: &AttributeDef) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut stack = vec![f];
    while let Some(f) = stack.pop() {
        match f {
            Filter::And(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.uri.is_none() && path.sub_attr.is_none() => {
                let d = attr.sub(&path.attr)?;
                let raw = match value {
                    CompValue::String(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Number(n) => Value::Number(n.clone()),
                    CompValue::Null => return None,
                };
                let c = normalize::coerce_value(d, &raw).ok()?;
                if is_blank(&c) {
                    return None;
                }
                out.insert(d.name.clone(), c);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The ids of `value eq "id"` or an `or` chain of those; `None` for any other filter.
fn value_eq_ids(f: &Filter) -> Option<Vec<String>> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![f];
    while let Some(f) = stack.pop() {
        match f {
            Filter::Or(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::String(id),
            } if path.uri.is_none()
                && path.sub_attr.is_none()
                && path.attr.eq_ignore_ascii_case("value") =>
            {
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

fn slot<'d>(doc: &'d Map<String, Value>, t: &Target<'_>) -> Option<&'d Value> {
    match t.ext {
        None => doc.get(&t.attr.name),
        Some(urn) => doc.get(urn)?.as_object()?.get(&t.attr.name),
    }
}

/// The object holding `t`'s attribute: the document, or its extension object (created).
fn slot_mut<'d>(doc: &'d mut Map<String, Value>, t: &Target<'_>) -> &'d mut Map<String, Value> {
    let Some(urn) = t.ext else { return doc };
    let e = doc
        .entry(urn.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !e.is_object() {
        *e = Value::Object(Map::new());
    }
    match e {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Drops an extension object left empty.
fn tidy_extension(doc: &mut Map<String, Value>, t: &Target<'_>) {
    if let Some(urn) = t.ext {
        if doc
            .get(urn)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            doc.shift_remove(urn);
        }
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The enterprise `manager` (same test as [`crate::normalize`]).
fn is_manager(attr: &AttributeDef) -> bool {
    attr.ty == AttrType::Complex
        && !attr.multi_valued
        && attr.name.eq_ignore_ascii_case("manager")
        && attr.sub("value").is_some()
}

fn is_blank_manager(c: &Value) -> bool {
    match c {
        Value::Object(o) => o.get("value").is_none_or(is_blank),
        Value::Array(a) => a.is_empty(),
        other => is_blank(other),
    }
}

/// A string that is equal for equal elements of `attr` whatever their key order.
fn element_key(attr: &AttributeDef, e: &Value) -> String {
    order_value(attr, e.clone()).to_string()
}

fn is_primary(e: &Value) -> bool {
    e.get("primary") == Some(&Value::Bool(true))
}

/// Keeps `primary: true` only on `winner` (RFC 7644 §3.5.2).
fn enforce_single_primary(arr: &mut [Value], winner: Option<usize>) {
    let Some(w) = winner else { return };
    for (i, e) in arr.iter_mut().enumerate() {
        if i != w && is_primary(e) {
            if let Value::Object(o) = e {
                o.insert("primary".to_string(), Value::Bool(false));
            }
        }
    }
}

fn elements(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn array_of(map: &Map<String, Value>, name: &str) -> Vec<Value> {
    match map.get(name) {
        Some(Value::Array(a)) => a.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

fn put_array(map: &mut Map<String, Value>, name: &str, arr: Vec<Value>) {
    if arr.is_empty() {
        map.shift_remove(name);
    } else {
        map.insert(name.to_string(), Value::Array(arr));
    }
}

fn object1(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), v);
    Value::Object(m)
}

fn remove_key(e: &mut Value, key: &str) {
    if let Value::Object(o) = e {
        o.shift_remove(key);
    }
}

/// An element that means nothing (the rule of [`crate::normalize`]): without its `value`
/// when the attribute has one, else with nothing but `type`/`primary`/`display`.
fn is_hollow(attr: &AttributeDef, e: &Value) -> bool {
    match e {
        Value::Object(o) => match attr.sub("value") {
            Some(d) => !o.contains_key(&d.name),
            None => o
                .keys()
                .all(|k| matches!(k.as_str(), "type" | "primary" | "display")),
        },
        Value::Null => true,
        _ => false,
    }
}

fn drop_hollow(arr: &mut Vec<Value>, attr: &AttributeDef, among: &[usize]) {
    let among: HashSet<usize> = among.iter().copied().collect();
    let mut i = 0;
    arr.retain(|e| {
        let keep = !(among.contains(&i) && is_hollow(attr, e));
        i += 1;
        keep
    });
}

fn remove_indices(arr: &mut Vec<Value>, idx: &[usize]) {
    let idx: HashSet<usize> = idx.iter().copied().collect();
    let mut i = 0;
    arr.retain(|_| {
        let keep = !idx.contains(&i);
        i += 1;
        keep
    });
}

/// Whether element `e` carries every sub-attribute value of `g` (or equals the simple value `g`).
fn same_value(attr: &AttributeDef, e: &Value, g: &Value) -> bool {
    match (e, g) {
        (Value::Object(eo), Value::Object(go)) => go.iter().all(|(k, gv)| {
            let fold = attr.sub(k).is_some_and(|d| !d.case_exact);
            eo.get(k).is_some_and(|ev| scalar_eq(ev, gv, fold))
        }),
        _ => scalar_eq(e, g, !attr.case_exact),
    }
}

/// The key under which [`scalar_eq`] values are equal.
fn scalar_key(v: &Value, fold: bool) -> String {
    match v {
        Value::String(x) if fold => format!("s:{}", filter::fold(x)),
        Value::String(x) => format!("s:{x}"),
        other => format!("j:{other}"),
    }
}

fn scalar_eq(a: &Value, b: &Value, fold: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if fold => {
            x == y || filter::fold(x) == filter::fold(y)
        }
        _ => a == b,
    }
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn display(p: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(u) = &p.uri {
        s.push_str(u);
        s.push(':');
    }
    s.push_str(&p.attr);
    if let Some(x) = &p.sub_attr {
        s.push('.');
        s.push_str(x);
    }
    s
}

/// At most 100 characters of client input, for error details and warnings.
fn clip(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(MAX).collect();
        c.push('…');
        c
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn missing_value(kind: PatchOpKind) -> ScimError {
    ScimError::invalid_value(format!("\"{}\" needs a \"value\"", kind.as_str()))
}

fn no_match(attr: &AttributeDef, kind: PatchOpKind) -> ScimError {
    ScimError::no_target(format!(
        "{}: no value of '{}' matches the filter, and only `eq` comparisons joined by `and` say how to create one",
        kind.as_str(),
        attr.name
    ))
}

fn at_operation(n: usize, e: ScimError) -> ScimError {
    ScimError {
        detail: format!("operation {n}: {}", e.detail),
        ..e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{
        group_resource_schema, user_resource_schema, Schema, ENTERPRISE_USER_SCHEMA,
    };
    use serde_json::json;
    use std::sync::Arc;

    const ENT: &str = ENTERPRISE_USER_SCHEMA;

    fn user() -> ResourceSchema {
        user_resource_schema(vec![])
    }

    fn run_with(
        doc: &mut Value,
        schema: &ResourceSchema,
        ops: Value,
        policy: BlankPolicy,
    ) -> ScimResult<PatchOutcome> {
        let body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops });
        let req = PatchRequest::parse(&body)?;
        apply(
            doc,
            &req,
            schema,
            &PatchOptions {
                blank_policy: policy,
            },
        )
    }

    fn run(doc: &mut Value, ops: Value) -> ScimResult<PatchOutcome> {
        run_with(doc, &user(), ops, BlankPolicy::Ignore)
    }

    fn bob() -> Value {
        json!({
            "externalId": "ext-1",
            "userName": "bob@contoso.com",
            "name": { "familyName": "Jensen", "givenName": "Bob" },
            "active": true,
            "emails": [ { "value": "bob@contoso.com", "type": "work", "primary": true } ],
            ENT: { "department": "Sales", "manager": { "value": "m-1" } }
        })
    }

    fn err_type(r: ScimResult<PatchOutcome>) -> (u16, Option<ScimType>, String) {
        let e = r.expect_err("expected an error");
        (e.status, e.scim_type, e.detail)
    }

    // ---- parse ----

    #[test]
    fn parse_accepts_any_case_keys_and_ops() {
        let req = PatchRequest::parse(&json!({
            "OPERATIONS": [
                { "OP": "Add", "PATH": "title", "VALUE": "x" },
                { "op": "REPLACE", "Path": "name.givenName", "Value": "y" },
                { "Op": "remove", "path": "nickName" }
            ]
        }))
        .unwrap();
        let kinds: Vec<_> = req.operations.iter().map(|o| o.op).collect();
        assert_eq!(
            kinds,
            [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]
        );
        assert_eq!(req.operations[0].value, Some(json!("x")));
        assert!(req.operations[2].value.is_none());
        assert_eq!(
            req.operations[1]
                .path
                .as_ref()
                .unwrap()
                .attr
                .sub_attr
                .as_deref(),
            Some("givenName")
        );
    }

    #[test]
    fn parse_errors() {
        let e = PatchRequest::parse(&json!({ "Operations": [] })).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        let e = PatchRequest::parse(&json!({ "schemas": [] })).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        let e = PatchRequest::parse(&json!([1])).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        let e = PatchRequest::parse(&json!({ "Operations": [ { "op": "move", "path": "a" } ] }))
            .unwrap_err();
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(ScimType::InvalidSyntax))
        );
        assert!(e.detail.contains("\"move\""), "{}", e.detail);
        let e = PatchRequest::parse(&json!({ "Operations": [ { "op": "add", "path": "title" } ] }))
            .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        let e = PatchRequest::parse(&json!({ "Operations": [ { "path": "title", "value": 1 } ] }))
            .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        let e = PatchRequest::parse(
            &json!({ "Operations": [ { "op": "add", "path": "emails[type eq", "value": 1 } ] }),
        )
        .unwrap_err();
        assert!(matches!(
            e.scim_type,
            Some(ScimType::InvalidPath | ScimType::InvalidFilter)
        ));
        assert!(e.detail.starts_with("operation 1: "), "{}", e.detail);
    }

    #[test]
    fn parse_without_schemas_and_blank_path() {
        let req = PatchRequest::parse(&json!({ "Operations": [ { "op": "replace", "path": "", "value": { "title": "t" } } ] }))
            .unwrap();
        assert!(req.operations[0].path.is_none());
        let req = PatchRequest::parse(
            &json!({ "Operations": [ { "op": "add", "path": null, "value": null } ] }),
        )
        .unwrap();
        assert_eq!(req.operations[0].value, Some(Value::Null));
    }

    // ---- single-valued, complex, multi-valued ----

    #[test]
    fn replace_and_add_single_valued() {
        let mut doc = bob();
        let out = run(
            &mut doc,
            json!([
                { "op": "replace", "path": "userName", "value": "robert@contoso.com" },
                { "op": "add", "path": "title", "value": "Boss" },
                { "op": "add", "path": "title", "value": "CEO" }
            ]),
        )
        .unwrap();
        assert_eq!(doc["userName"], "robert@contoso.com");
        assert_eq!(doc["title"], "CEO");
        assert_eq!(out.changed, ["userName", "title"]);
    }

    #[test]
    fn same_value_is_not_a_change() {
        let mut doc = bob();
        let before = doc.clone();
        let out = run(&mut doc, json!([
            { "op": "replace", "path": "userName", "value": "bob@contoso.com" },
            { "op": "replace", "path": "active", "value": "True" },
            { "op": "add", "path": "emails", "value": [ { "value": "bob@contoso.com", "type": "work", "primary": true } ] },
            { "op": "remove", "path": "nickName" }
        ]))
        .unwrap();
        assert!(out.changed.is_empty(), "{:?}", out.changed);
        assert_eq!(doc, before);
    }

    #[test]
    fn complex_merge_keeps_unlisted_sub_attributes() {
        let mut doc = bob();
        run(&mut doc, json!([ { "op": "replace", "path": "name", "value": { "givenName": "Rob", "middleName": "J" } } ]))
            .unwrap();
        assert_eq!(
            doc["name"],
            json!({ "familyName": "Jensen", "givenName": "Rob", "middleName": "J" })
        );
        run(
            &mut doc,
            json!([ { "op": "add", "path": "name.formatted", "value": "Rob J Jensen" } ]),
        )
        .unwrap();
        assert_eq!(doc["name"]["formatted"], "Rob J Jensen");
        // canonical sub-attribute order
        let keys: Vec<_> = doc["name"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["formatted", "familyName", "givenName", "middleName"]);
    }

    #[test]
    fn multi_valued_add_appends_and_skips_duplicates() {
        let mut doc = bob();
        run(
            &mut doc,
            json!([
                { "op": "add", "path": "emails", "value": [
                    { "value": "bob@contoso.com", "type": "work", "primary": true },
                    { "value": "bob@home.org", "type": "home" }
                ] },
                { "op": "add", "path": "phoneNumbers", "value": { "value": "555", "type": "work" } }
            ]),
        )
        .unwrap();
        assert_eq!(doc["emails"].as_array().unwrap().len(), 2);
        assert_eq!(
            doc["phoneNumbers"],
            json!([ { "value": "555", "type": "work" } ])
        );
    }

    #[test]
    fn multi_valued_replace_replaces_the_array_and_empty_clears() {
        let mut doc = bob();
        run(&mut doc, json!([ { "op": "replace", "path": "emails", "value": [ { "value": "new@x.org", "type": "other" } ] } ]))
            .unwrap();
        assert_eq!(
            doc["emails"],
            json!([ { "value": "new@x.org", "type": "other" } ])
        );
        let out = run(
            &mut doc,
            json!([ { "op": "replace", "path": "emails", "value": [] } ]),
        )
        .unwrap();
        assert!(doc.get("emails").is_none());
        assert_eq!(out.changed, ["emails"]);
    }

    #[test]
    fn primary_true_unsets_the_others() {
        let mut doc = bob();
        run(&mut doc, json!([ { "op": "add", "path": "emails", "value": [ { "value": "b@home.org", "type": "home", "primary": "True" } ] } ]))
            .unwrap();
        assert_eq!(doc["emails"][0]["primary"], false);
        assert_eq!(doc["emails"][1]["primary"], true);
        run(&mut doc, json!([ { "op": "replace", "path": "emails[type eq \"work\"].primary", "value": true } ])).unwrap();
        assert_eq!(doc["emails"][0]["primary"], true);
        assert_eq!(doc["emails"][1]["primary"], false);
    }

    #[test]
    fn booleans_as_strings() {
        let mut doc = bob();
        run(
            &mut doc,
            json!([ { "op": "Replace", "path": "active", "value": "False" } ]),
        )
        .unwrap();
        assert_eq!(doc["active"], false);
        run(
            &mut doc,
            json!([ { "op": "replace", "value": { "active": "TRUE" } } ]),
        )
        .unwrap();
        assert_eq!(doc["active"], true);
        let e = err_type(run(
            &mut doc,
            json!([ { "op": "replace", "path": "active", "value": "maybe" } ]),
        ));
        assert_eq!(e.1, Some(ScimType::InvalidValue));
    }

    // ---- path-less ----

    #[test]
    fn pathless_keys_dotted_urn_and_nested_extension() {
        let mut doc = bob();
        let out = run(
            &mut doc,
            json!([ { "op": "Add", "value": {
            "name.givenName": "B",
            "NickName": "Babs",
            "emails[type eq \"home\"].value": "b@home.org",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops",
            ENT: { "costCenter": "42" },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m-2",
            "schemas": ["whatever"]
        } } ]),
        )
        .unwrap();
        assert_eq!(doc["name"]["givenName"], "B");
        assert_eq!(doc["nickName"], "Babs");
        assert_eq!(
            doc["emails"][1],
            json!({ "value": "b@home.org", "type": "home" })
        );
        assert_eq!(
            doc[ENT],
            json!({ "costCenter": "42", "department": "Ops", "manager": { "value": "m-2" } })
        );
        let dept = format!("{ENT}:department");
        let cc = format!("{ENT}:costCenter");
        let mgr = format!("{ENT}:manager");
        assert_eq!(
            out.changed,
            vec![
                "name",
                "nickName",
                "emails",
                dept.as_str(),
                cc.as_str(),
                mgr.as_str()
            ]
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn pathless_needs_an_object() {
        let mut doc = bob();
        let e = err_type(run(&mut doc, json!([ { "op": "add", "value": "x" } ])));
        assert_eq!((e.0, e.1), (400, Some(ScimType::InvalidValue)));
        let e = err_type(run(&mut doc, json!([ { "op": "remove" } ])));
        assert_eq!(e.1, Some(ScimType::NoTarget));
    }

    #[test]
    fn extension_urn_as_path() {
        let mut doc = bob();
        run(
            &mut doc,
            json!([ { "op": "replace", "path": ENT, "value": { "division": "D" } } ]),
        )
        .unwrap();
        assert_eq!(doc[ENT]["division"], "D");
        assert_eq!(doc[ENT]["department"], "Sales");
        let out = run(&mut doc, json!([ { "op": "remove", "path": ENT } ])).unwrap();
        assert!(doc.get(ENT).is_none());
        assert_eq!(out.changed.len(), 3);
    }

    // ---- value filters ----

    #[test]
    fn filter_creates_element_with_equalities_and_reuses_it() {
        let mut doc = json!({ "userName": "u" });
        run(&mut doc, json!([
            { "op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St" },
            { "op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield" },
            { "op": "add", "path": "addresses[type eq \"home\"].country", "value": "NL" }
        ]))
        .unwrap();
        assert_eq!(
            doc["addresses"],
            json!([
                { "streetAddress": "1 Main St", "locality": "Springfield", "type": "work" },
                { "country": "NL", "type": "home" }
            ])
        );
    }

    #[test]
    fn filter_sets_on_every_match_and_bool_filters() {
        let mut doc = json!({ "userName": "u", "roles": [ { "value": "a", "primary": true }, { "value": "b" } ] });
        run(&mut doc, json!([ { "op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Admin" } ])).unwrap();
        assert_eq!(
            doc["roles"],
            json!([ { "value": "Admin", "primary": true }, { "value": "b" } ])
        );
        let mut doc = json!({ "userName": "u" });
        run(&mut doc, json!([ { "op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Admin" } ])).unwrap();
        assert_eq!(
            doc["roles"],
            json!([ { "value": "Admin", "primary": true } ])
        );
    }

    #[test]
    fn filter_without_sub_attribute_merges_or_creates() {
        let mut doc = bob();
        run(&mut doc, json!([ { "op": "replace", "path": "emails[type eq \"work\"]", "value": { "value": "w@x.org", "display": "W" } } ]))
            .unwrap();
        assert_eq!(
            doc["emails"],
            json!([ { "value": "w@x.org", "display": "W", "type": "work", "primary": true } ])
        );
        run(&mut doc, json!([ { "op": "replace", "path": "emails[type eq \"home\"]", "value": { "value": "h@x.org" } } ])).unwrap();
        assert_eq!(
            doc["emails"][1],
            json!({ "value": "h@x.org", "type": "home" })
        );
    }

    #[test]
    fn filter_that_cannot_create_is_no_target() {
        let mut doc = bob();
        let e = err_type(run(
            &mut doc,
            json!([ { "op": "replace", "path": "emails[value co \"zzz\"].type", "value": "home" } ]),
        ));
        assert_eq!(e.1, Some(ScimType::NoTarget));
        let e = err_type(run(
            &mut doc,
            json!([ { "op": "replace", "path": "name[givenName eq \"x\"].familyName", "value": "y" } ]),
        ));
        assert_eq!(e.1, Some(ScimType::InvalidPath));
    }

    #[test]
    fn remove_with_filter() {
        let mut doc = bob();
        run(&mut doc, json!([ { "op": "add", "path": "emails", "value": [ { "value": "h@x.org", "type": "home" } ] } ])).unwrap();
        let out = run(
            &mut doc,
            json!([ { "op": "remove", "path": "emails[type eq \"home\"]" } ]),
        )
        .unwrap();
        assert_eq!(doc["emails"].as_array().unwrap().len(), 1);
        assert_eq!(out.changed, ["emails"]);
        // no match: idempotent
        let out = run(
            &mut doc,
            json!([ { "op": "remove", "path": "emails[type eq \"home\"]" } ]),
        )
        .unwrap();
        assert!(out.changed.is_empty());
        // sub-attribute: the element is left without its value, so it goes
        run(
            &mut doc,
            json!([ { "op": "remove", "path": "emails[type eq \"work\"].value" } ]),
        )
        .unwrap();
        assert!(doc.get("emails").is_none());
    }

    #[test]
    fn remove_sub_attribute_keeps_element_with_value() {
        let mut doc = bob();
        run(
            &mut doc,
            json!([ { "op": "remove", "path": "emails[type eq \"work\"].primary" } ]),
        )
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([ { "value": "bob@contoso.com", "type": "work" } ])
        );
    }

    #[test]
    fn remove_multi_valued_with_value_removes_those() {
        let mut doc = json!({ "userName": "u", "roles": [ { "value": "A" }, { "value": "B" }, { "value": "C" } ] });
        run(&mut doc, json!([ { "op": "remove", "path": "roles", "value": [ { "value": "a" }, { "value": "C" } ] } ])).unwrap();
        assert_eq!(doc["roles"], json!([ { "value": "B" } ]));
    }

    #[test]
    fn remove_is_idempotent_and_needs_a_path() {
        let mut doc = bob();
        let out = run(
            &mut doc,
            json!([
                { "op": "remove", "path": "title" },
                { "op": "remove", "path": "name.middleName" },
                { "op": "remove", "path": "x509Certificates[value eq \"x\"]" }
            ]),
        )
        .unwrap();
        assert!(out.changed.is_empty());
        let out = run(&mut doc, json!([ { "op": "remove", "path": "name.givenName" }, { "op": "remove", "path": "name.familyName" } ]))
            .unwrap();
        assert!(doc.get("name").is_none());
        assert_eq!(out.changed, ["name"]);
    }

    #[test]
    fn remove_user_name_is_refused() {
        let mut doc = bob();
        let e = err_type(run(
            &mut doc,
            json!([ { "op": "remove", "path": "userName" } ]),
        ));
        assert_eq!(e.1, Some(ScimType::InvalidValue));
        let e = err_type(run_with(
            &mut bob(),
            &user(),
            json!([ { "op": "replace", "path": "userName", "value": "" } ]),
            BlankPolicy::Clear,
        ));
        assert_eq!(e.1, Some(ScimType::InvalidValue));
    }

    // ---- ignored input ----

    #[test]
    fn read_only_unknown_and_password_are_ignored_with_warnings() {
        let mut doc = bob();
        let before = doc.clone();
        let out = run(&mut doc, json!([
            { "op": "replace", "path": "id", "value": "hijack" },
            { "op": "replace", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z" },
            { "op": "add", "path": "groups", "value": [ { "value": "g1" } ] },
            { "op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "Boss" },
            { "op": "replace", "path": "password", "value": "s3cret!" },
            { "op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:badge", "value": "7" },
            { "op": "add", "path": "urn:example:custom:2.0:User:shoeSize", "value": "44" },
            { "op": "add", "path": "favouriteColour", "value": "blue" },
            { "op": "add", "path": "name.nickname", "value": "x" },
            { "op": "add", "value": { "id": "x", "schemas": ["y"], "urn:example:custom:2.0:User": { "a": 1 }, "password": "p4ss" } }
        ]))
        .unwrap();
        assert_eq!(doc, before);
        assert!(out.changed.is_empty());
        let w = out.warnings.join("\n");
        for needle in [
            "'id'",
            "'meta'",
            "'groups'",
            "manager.displayName",
            "password",
            "badge",
            "shoeSize",
            "favouriteColour",
            "name.nickname",
        ] {
            assert!(w.contains(needle), "no warning about {needle}: {w}");
        }
        assert!(
            !w.contains("s3cret") && !w.contains("p4ss") && !w.contains("hijack"),
            "{w}"
        );
    }

    // ---- blanks and manager ----

    #[test]
    fn blank_policy_ignore_and_clear() {
        let ops = json!([
            { "op": "replace", "path": "name.givenName", "value": "" },
            { "op": "replace", "path": "active", "value": null },
            { "op": "replace", "value": { "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "" } },
            { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "" }
        ]);
        let mut doc = bob();
        let out = run_with(&mut doc, &user(), ops.clone(), BlankPolicy::Ignore).unwrap();
        assert_eq!(doc, bob());
        assert!(out.changed.is_empty());
        let mut doc = bob();
        let out = run_with(&mut doc, &user(), ops, BlankPolicy::Clear).unwrap();
        assert_eq!(doc["name"], json!({ "familyName": "Jensen" }));
        assert!(doc.get("active").is_none());
        assert!(doc[ENT].get("department").is_none());
        assert!(doc.get("emails").is_none());
        assert_eq!(out.changed.len(), 4);
    }

    #[test]
    fn explicit_remove_always_removes() {
        let mut doc = bob();
        run(&mut doc, json!([ { "op": "remove", "path": "active" } ])).unwrap();
        assert!(doc.get("active").is_none());
    }

    #[test]
    fn manager_shapes() {
        let path = format!("{ENT}:manager");
        for v in [
            json!("m-9"),
            json!({ "value": "m-9" }),
            json!([ { "value": "m-9", "$ref": "../Users/m-9" } ]),
            json!({ "Value": "m-9", "displayName": "Boss" }),
        ] {
            let mut doc = bob();
            run(
                &mut doc,
                json!([ { "op": "replace", "path": path, "value": v } ]),
            )
            .unwrap();
            assert_eq!(doc[ENT]["manager"], json!({ "value": "m-9" }), "for {v}");
        }
        let mut doc = bob();
        run(
            &mut doc,
            json!([ { "op": "replace", "path": format!("{path}.value"), "value": "m-7" } ]),
        )
        .unwrap();
        assert_eq!(doc[ENT]["manager"], json!({ "value": "m-7" }));
        let mut doc = bob();
        run(
            &mut doc,
            json!([ { "op": "add", "value": { ENT: { "manager": { "value": "m-8" } } } } ]),
        )
        .unwrap();
        assert_eq!(doc[ENT]["manager"], json!({ "value": "m-8" }));
    }

    #[test]
    fn blank_manager_always_removes() {
        let path = format!("{ENT}:manager");
        for v in [
            json!(""),
            json!({ "value": "" }),
            Value::Null,
            json!([ { "value": "" } ]),
        ] {
            let mut doc = bob();
            let out = run_with(
                &mut doc,
                &user(),
                json!([ { "op": "replace", "path": path, "value": v } ]),
                BlankPolicy::Ignore,
            )
            .unwrap();
            assert!(doc[ENT].get("manager").is_none(), "for {v}");
            assert_eq!(out.changed, std::slice::from_ref(&path));
        }
        let mut doc = bob();
        run(
            &mut doc,
            json!([ { "op": "replace", "path": format!("{path}.value"), "value": "" } ]),
        )
        .unwrap();
        assert!(doc[ENT].get("manager").is_none());
        // the extension object goes when it is empty
        let mut doc = json!({ "userName": "u", ENT: { "manager": { "value": "m" } } });
        run(
            &mut doc,
            json!([ { "op": "replace", "value": { path.as_str(): "" } } ]),
        )
        .unwrap();
        assert_eq!(doc, json!({ "userName": "u" }));
    }

    #[test]
    fn roles_json_strings_kept_as_sent() {
        let raw = "{\"id\":\"8ce0d\",\"displayName\":\"Admin\"}";
        let mut doc = json!({ "userName": "u" });
        run(&mut doc, json!([ { "op": "add", "path": "roles", "value": [ { "value": raw, "primary": false } ] } ])).unwrap();
        assert_eq!(doc["roles"][0]["value"], raw);
    }

    #[test]
    fn immutable_attribute_can_be_set_once() {
        let custom = Schema {
            id: "urn:example:ext:1.0:User".into(),
            name: "Ext".into(),
            description: String::new(),
            attributes: vec![AttributeDef::new("badge", AttrType::String, "")
                .with_mutability(Mutability::Immutable)],
        };
        let schema = user_resource_schema(vec![Arc::new(custom)]);
        let mut doc = json!({ "userName": "u" });
        let ops =
            json!([ { "op": "add", "path": "urn:example:ext:1.0:User:badge", "value": "1" } ]);
        run_with(&mut doc, &schema, ops.clone(), BlankPolicy::Ignore).unwrap();
        assert_eq!(doc["urn:example:ext:1.0:User"]["badge"], "1");
        run_with(&mut doc, &schema, ops, BlankPolicy::Ignore).unwrap();
        let e = err_type(run_with(
            &mut doc,
            &schema,
            json!([ { "op": "add", "path": "urn:example:ext:1.0:User:badge", "value": "2" } ]),
            BlankPolicy::Ignore,
        ));
        assert_eq!(e.1, Some(ScimType::Mutability));
    }

    #[test]
    fn errors_name_the_operation() {
        let mut doc = bob();
        let e = err_type(run(
            &mut doc,
            json!([
                { "op": "replace", "path": "title", "value": "ok" },
                { "op": "replace", "path": "active", "value": [1] }
            ]),
        ));
        assert!(e.2.starts_with("operation 2: "), "{}", e.2);
    }

    #[test]
    fn canonical_key_order_after_patch() {
        let mut doc = json!({ "userName": "u" });
        run(&mut doc, json!([ { "op": "add", "value": { ENT: { "department": "D" }, "title": "T", "externalId": "e", "name": { "givenName": "G", "familyName": "F" } } } ]))
            .unwrap();
        let keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["externalId", "userName", "name", "title", ENT]);
        let keys: Vec<_> = doc["name"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["familyName", "givenName"]);
    }

    // ---- groups ----

    #[test]
    fn group_member_ops() {
        let g = group_resource_schema();
        let mut doc = json!({ "displayName": "Eng" });
        let out = run_with(&mut doc, &g, json!([
            { "op": "add", "path": "members", "value": [ { "value": "u1" }, { "value": "u2" }, { "value": "u1" } ] },
            { "op": "Add", "value": { "members": [ { "value": "u3" } ], "displayName": "Engineering" } },
            { "op": "remove", "path": "members[value eq \"u2\"]" },
            { "op": "remove", "path": "members[value eq \"u4\" or value eq \"u5\"]" },
            { "op": "remove", "path": "members[type eq \"Group\"]" },
            { "op": "Remove", "path": "members", "value": [ { "value": "u1" } ] },
            { "op": "replace", "path": "members", "value": [ { "value": "u9" } ] },
            { "op": "replace", "path": "members", "value": [] },
            { "op": "remove", "path": "members" }
        ]), BlankPolicy::Ignore)
        .unwrap();
        assert_eq!(doc, json!({ "displayName": "Engineering" }));
        assert_eq!(out.changed, ["displayName"]);
        assert_eq!(out.member_ops.len(), 9);
        assert_eq!(
            out.member_ops[0],
            MemberOp::Add(vec!["u1".into(), "u2".into()])
        );
        assert_eq!(out.member_ops[1], MemberOp::Add(vec!["u3".into()]));
        assert_eq!(out.member_ops[2], MemberOp::Remove(vec!["u2".into()]));
        assert_eq!(
            out.member_ops[3],
            MemberOp::Remove(vec!["u4".into(), "u5".into()])
        );
        assert!(matches!(out.member_ops[4], MemberOp::RemoveWhere(_)));
        assert_eq!(out.member_ops[5], MemberOp::Remove(vec!["u1".into()]));
        assert_eq!(out.member_ops[6], MemberOp::Replace(vec!["u9".into()]));
        assert_eq!(out.member_ops[7], MemberOp::Replace(vec![]));
        assert_eq!(out.member_ops[8], MemberOp::RemoveAll);
    }

    #[test]
    fn group_member_errors() {
        let g = group_resource_schema();
        let mut doc = json!({ "displayName": "Eng" });
        let e = err_type(run_with(
            &mut doc,
            &g,
            json!([ { "op": "replace", "path": "members[value eq \"x\"]", "value": { "value": "y" } } ]),
            BlankPolicy::Ignore,
        ));
        assert_eq!(e.1, Some(ScimType::InvalidPath));
        assert!(
            e.2.contains("replace of one member is not supported"),
            "{}",
            e.2
        );
        let e = err_type(run_with(
            &mut doc,
            &g,
            json!([ { "op": "add", "path": "members", "value": [ { "display": "x" } ] } ]),
            BlankPolicy::Ignore,
        ));
        assert_eq!(e.1, Some(ScimType::InvalidValue));
        let e = err_type(run_with(
            &mut doc,
            &g,
            json!([ { "op": "remove", "path": "displayName" } ]),
            BlankPolicy::Ignore,
        ));
        assert_eq!(e.1, Some(ScimType::InvalidValue));
    }

    #[test]
    fn many_members_in_one_op() {
        let g = group_resource_schema();
        let members: Vec<Value> = (0..20_000)
            .map(|i| json!({ "value": format!("id-{i}") }))
            .collect();
        let mut doc = json!({ "displayName": "All" });
        let out = run_with(
            &mut doc,
            &g,
            json!([ { "op": "add", "path": "members", "value": members } ]),
            BlankPolicy::Ignore,
        )
        .unwrap();
        match &out.member_ops[0] {
            MemberOp::Add(ids) => assert_eq!(ids.len(), 20_000),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn members_on_a_user_is_unknown() {
        let mut doc = bob();
        let out = run(
            &mut doc,
            json!([ { "op": "add", "path": "members", "value": [ { "value": "x" } ] } ]),
        )
        .unwrap();
        assert!(out.member_ops.is_empty());
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn hollow_element_left_at_the_end_is_dropped() {
        let mut doc = json!({ "userName": "u" });
        let out = run(
            &mut doc,
            json!([ { "op": "add", "path": "emails[type eq \"work\"].primary", "value": true } ]),
        )
        .unwrap();
        assert_eq!(doc, json!({ "userName": "u" }));
        assert!(out.changed.is_empty(), "{:?}", out.changed);
        // ...but kept between operations of the same request
        run(
            &mut doc,
            json!([
                { "op": "add", "path": "emails[type eq \"work\"].primary", "value": true },
                { "op": "add", "path": "emails[type eq \"work\"].value", "value": "w@x.org" }
            ]),
        )
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([ { "value": "w@x.org", "type": "work", "primary": true } ])
        );
    }

    #[test]
    fn set_and_set_back_is_not_a_change() {
        let mut doc = bob();
        let out = run(
            &mut doc,
            json!([
                { "op": "replace", "path": "title", "value": "x" },
                { "op": "remove", "path": "title" },
                { "op": "replace", "path": "userName", "value": "tmp" },
                { "op": "replace", "path": "userName", "value": "bob@contoso.com" }
            ]),
        )
        .unwrap();
        assert!(out.changed.is_empty(), "{:?}", out.changed);
    }

    #[test]
    fn manager_ref_and_display_name_are_server_rendered() {
        let mut doc = bob();
        let out = run(&mut doc, json!([
            { "op": "replace", "path": format!("{ENT}:manager.$ref"), "value": "https://x/Users/m-1" },
            { "op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "Boss" }
        ]))
        .unwrap();
        assert_eq!(doc, bob());
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    }

    #[test]
    fn warnings_are_capped() {
        let keys: Map<String, Value> = (0..5_000)
            .map(|i| (format!("unknown{i}"), json!("v")))
            .collect();
        let mut doc = bob();
        let out = run(&mut doc, json!([ { "op": "add", "value": keys } ])).unwrap();
        assert_eq!(out.warnings.len(), crate::warnings::MAX_WARNINGS + 1);
        assert_eq!(out.warnings.last().unwrap(), "further warnings omitted");
    }

    #[test]
    fn remove_values_folds_case_only_where_the_schema_says() {
        let mut doc = json!({ "userName": "u", "emails": [
            { "value": "A@X.org", "type": "work" }, { "value": "b@x.org", "type": "home" }, { "value": "c@x.org", "type": "other" }
        ] });
        run(&mut doc, json!([ { "op": "remove", "path": "emails", "value": [ { "value": "a@x.org" }, { "value": "c@x.org", "type": "home" } ] } ]))
            .unwrap();
        // the first matches (emails.value is not caseExact); the third does not (type differs)
        assert_eq!(
            doc["emails"],
            json!([ { "value": "b@x.org", "type": "home" }, { "value": "c@x.org", "type": "other" } ])
        );
        let mut doc = json!({ "userName": "u", "externalId": "E" });
        run(
            &mut doc,
            json!([ { "op": "remove", "path": "externalId", "value": "e" } ]),
        )
        .unwrap();
        assert!(doc.get("externalId").is_none());
    }
}
