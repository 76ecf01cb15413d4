//! From one operation to the attribute it targets: path-less objects (each key a path),
//! whole extensions by URN, PATCH paths; what is ignored with a warning (password,
//! `schemas`, readOnly, unknown attributes and schemas); and the checks made after a
//! change (immutable, required).

use super::elements::{is_blank, is_manager, slot, slot_mut, tidy_extension, Target};
use super::request::{missing_value, PatchOpKind, PatchOperation, PatchOutcome};
use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Filter};
use crate::json::{clip_detail, json_kind};
use crate::normalize::unknown_schema_warning;
use crate::path::{AttrPath, PatchPath};
use crate::schema::{AttributeDef, Mutability, ResourceSchema};
use crate::warnings::Warnings;
use serde_json::{Map, Value};

enum Lookup<'s> {
    Found(Target<'s>),
    Password,
    Schemas,
    UnknownSchema,
    Unknown,
}

/// The state of one request: the schema, the blank policy, what changed, the warnings.
pub(super) struct Patcher<'s> {
    pub(super) schema: &'s ResourceSchema,
    pub(super) clear_blanks: bool,
    pub(super) out: PatchOutcome,
    pub(super) warnings: Warnings,
    /// `urn:...:` of the extension the operation in progress targets, or empty (the
    /// prefix of the paths recorded in [`PatchOutcome::blanks`]).
    pub(super) prefix: String,
    /// The kind of the operation in progress (set by [`Patcher::operation`]).
    pub(super) kind: PatchOpKind,
}

impl<'s> Patcher<'s> {
    pub(super) fn warn(&mut self, w: String) {
        self.warnings.push(w);
    }

    /// Records that an `add`/`replace` gave `path` (relative to the target's schema: `name`,
    /// `name.givenName`) a blank value.
    pub(super) fn note_blank(&mut self, path: &str) {
        self.note_blank_at(format!("{}{path}", self.prefix));
    }

    /// Records that an `add`/`replace` gave the canonical path `full` a blank value.
    fn note_blank_at(&mut self, full: String) {
        if !self.out.blanks.contains(&full) {
            self.out.blanks.push(full);
        }
    }

    fn record(&mut self, name: String) {
        if !self.out.changed.contains(&name) {
            self.out.changed.push(name);
        }
    }

    pub(super) fn operation(
        &mut self,
        doc: &mut Map<String, Value>,
        op: &PatchOperation,
    ) -> ScimResult<()> {
        self.kind = op.op;
        match &op.path {
            Some(p) => self.path_op(doc, p, op.value.as_ref()),
            None => self.resource_op(doc, op.value.as_ref()),
        }
    }

    /// A path-less operation: the value is an object of attributes.
    fn resource_op(
        &mut self,
        doc: &mut Map<String, Value>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if self.kind == PatchOpKind::Remove {
            return Err(ScimError::no_target(
                "\"remove\" needs a \"path\" naming what to remove",
            ));
        }
        let value = value.ok_or_else(|| missing_value(self.kind))?;
        let obj = value.as_object().ok_or_else(|| {
            ScimError::invalid_value(format!(
                "without a \"path\", the \"value\" of \"{}\" must be an object of attributes, not {}",
                self.kind.as_str(),
                json_kind(value)
            ))
        })?;
        for (key, v) in obj {
            self.key_op(doc, key, v)?;
        }
        Ok(())
    }

    /// One key of a path-less value object.
    fn key_op(&mut self, doc: &mut Map<String, Value>, key: &str, v: &Value) -> ScimResult<()> {
        let schema = self.schema;
        if key.eq_ignore_ascii_case("schemas") {
            return Ok(());
        }
        if let Some(ext) = schema.extension(key) {
            return self.extension_op(doc, &ext.schema.id, Some(v));
        }
        if key.eq_ignore_ascii_case(&schema.core.id) {
            return self.resource_op(doc, Some(v));
        }
        let p = PatchPath::parse(key).map_err(|e| ScimError {
            detail: format!(
                "attribute \"{}\" in \"value\": {}",
                clip_detail(key),
                e.detail
            ),
            ..e
        })?;
        self.path_op(doc, &p, Some(v))
    }

    /// An operation on a whole extension (`urn:...:enterprise:2.0:User` as path or key).
    fn extension_op(
        &mut self,
        doc: &mut Map<String, Value>,
        urn: &'s str,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if self.kind == PatchOpKind::Remove {
            self.remove_extension(doc, urn);
            return Ok(());
        }
        let value = value.ok_or_else(|| missing_value(self.kind))?;
        if is_blank(value) {
            self.note_blank_at(urn.to_string());
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
                detail: format!(
                    "attribute \"{}\" of \"{urn}\": {}",
                    clip_detail(k),
                    e.detail
                ),
                ..e
            })?;
            self.path_op(doc, &p, Some(v))?;
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
        p: &PatchPath,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let schema: &'s ResourceSchema = self.schema;
        // A path that is a whole schema URN.
        if p.filter.is_none() && p.sub_attr_after_filter.is_none() && p.attr.sub_attr.is_none() {
            if let Some(uri) = &p.attr.uri {
                let full = format!("{uri}:{}", p.attr.attr);
                if let Some(ext) = schema.extension(&full) {
                    return self.extension_op(doc, &ext.schema.id, value);
                }
                if full.eq_ignore_ascii_case(&schema.core.id) {
                    return self.resource_op(doc, value);
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
                // An object under a whole URN (`urn:...:ivanti:2.0:User`) names its
                // attributes; otherwise the path is `URN:attribute`.
                let w = match value {
                    Some(v @ Value::Object(_))
                        if p.filter.is_none() && p.attr.sub_attr.is_none() =>
                    {
                        unknown_schema_warning(&p.attr.to_string(), v)
                    }
                    _ => format!(
                        "ignored attribute '{}' of unknown schema '{}'",
                        clip_detail(&p.attr.attr),
                        clip_detail(p.attr.uri.as_deref().unwrap_or_default())
                    ),
                };
                self.warn(w);
                return Ok(());
            }
            Lookup::Unknown => {
                self.warn(format!(
                    "ignored unknown attribute '{}'",
                    clip_detail(&p.attr.to_string())
                ));
                return Ok(());
            }
        };
        if t.ext.is_none() && schema.is_group() && t.attr.name.eq_ignore_ascii_case("members") {
            if let Some(f) = &p.filter {
                filter::validate_value_filter(f, t.attr)?;
            }
            return self.members_op(p, value);
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
                        clip_detail(s)
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
        self.prefix = t.ext.map(|u| format!("{u}:")).unwrap_or_default();
        let res = self.attr_op(doc, &t, sub, p.filter.as_ref(), value);
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
    /// [`crate::normalize::normalize_resource`] enforces, with its rule: a string that is not
    /// only whitespace): `userName`, and a Group's `displayName`.
    fn is_enforced_required(&self, t: &Target<'_>) -> bool {
        t.ext.is_none()
            && ((self.schema.is_user() && t.attr.name == "userName")
                || (self.schema.is_group() && t.attr.name == "displayName"))
    }

    /// The operation in progress on target `t` of the document (its sub-attribute `sub`,
    /// the elements `filter` selects): a remove, or an add or replace of `value`.
    fn attr_op(
        &mut self,
        doc: &mut Map<String, Value>,
        t: &Target<'_>,
        sub: Option<&AttributeDef>,
        filter: Option<&Filter>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let (map, attr) = (slot_mut(doc, t), t.attr);
        if self.kind == PatchOpKind::Remove {
            return self.remove(map, attr, sub, filter, value);
        }
        let value = value.ok_or_else(|| missing_value(self.kind))?;
        match (filter, sub) {
            (Some(f), _) => self.set_filtered(map, attr, f, sub, value),
            (None, Some(s)) => self.set_sub(map, attr, s, value),
            (None, None) => self.set_whole(map, attr, value),
        }
    }
}
