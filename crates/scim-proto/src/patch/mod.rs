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
//! - Every value written goes through [`crate::normalize::coerce_value`] (types,
//!   `"True"`/`"False"` booleans, canonical sub-attribute names, `manager` shapes); blank, unknown and
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
//!   (RFC 7644 §3.5.2). In one value array, the first element with `primary: true` is the
//!   one kept (the others get `false`, with a warning: RFC 7643 §2.4).
//! - `remove` needs a path (400 noTarget). Removing an absent attribute, or with a filter
//!   that matches nothing, is not an error (Entra retries and relies on idempotency).
//!   `remove` of a multi-valued attribute with a `value` removes only the elements that
//!   carry all the given sub-attribute values (a single-valued attribute is removed
//!   whatever the value). Removing a filtered sub-attribute (`emails[type eq "work"].value`)
//!   drops the elements left without their `value`.
//! - At the end of a request, elements that mean nothing (no `value`; for attributes
//!   without one, nothing but `type`/`primary`/`display`) are dropped, and keys are put in
//!   the one canonical order (`crate::canonical`) that
//!   [`crate::normalize::normalize_resource`] also ends with, so the document is exactly
//!   what a PUT of the same content would store.
//!
//! Blank values (`null`, `""`, or a value that coerces to nothing) in `add`/`replace`
//! follow [`PatchOptions::blank_policy`]: leave the stored value (`Ignore`) or remove it
//! (`Clear`). A blank `manager` (`""`, `{"value":""}`, `null`) always removes it.
//!
//! Ignored with a warning in [`PatchOutcome::warnings`] (never an error, because Entra sends
//! them): readOnly targets (`id`, `meta`, `groups`, `manager.displayName`), `schemas`,
//! unknown attributes of a known schema (e.g. unregistered custom extension attributes),
//! attributes of unknown schemas (the warning names the URN and the attributes).
//! Blank values are also listed in [`PatchOutcome::blanks`], whatever the policy did. `password` is accepted and dropped; no warning carries
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
//!
//! Layout: the request and its parsing (`request.rs`); from an operation to its target
//! attribute (`resolve.rs`); `add`/`replace` (`set.rs`); `remove` (`remove.rs`); Group
//! `members` (`members.rs`); helpers on documents and elements (`elements.rs`).

mod elements;
mod members;
mod remove;
mod request;
mod resolve;
mod set;

pub use request::{
    BlankPolicy, MemberOp, PatchOpKind, PatchOperation, PatchOptions, PatchOutcome, PatchRequest,
};

use crate::canonical::canonical_order;
use crate::error::{ScimError, ScimResult};
use crate::schema::{AttrType, AttributeDef, ResourceSchema};
use crate::warnings::Warnings;
use elements::is_hollow;
use request::at_operation;
use resolve::Patcher;
use serde_json::{Map, Value};

/// Applies `req` to `doc` in order; on error `doc` may be partly changed and the caller
/// must discard it (atomicity is the caller's: it writes nothing). A `null` `doc` is
/// treated as an empty document.
///
/// The attributes the request changed are checked against [`PatchOptions::limits`]
/// ([`crate::limits::Limits::check_document`]), and so is the number of member ids its
/// member operations name together.
///
/// Errors: 400 noTarget (remove without path; add/replace through a value filter that
/// matches nothing and cannot create an element), 400 invalidPath (malformed target,
/// value filter on a single-valued attribute, unsupported `members` path), 400 mutability
/// (changing an immutable attribute that has a value), 400 invalidValue (wrong type,
/// missing value, removing `userName` or a Group's `displayName`, a changed attribute over
/// a limit or an identifier with a refused character, too many members). Unknown and
/// readOnly attributes are not errors: see [`PatchOutcome::warnings`].
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
        prefix: String::new(),
        kind: PatchOpKind::Add,
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
        opts.limits
            .check_document(map, schema, Some(&patcher.out.changed))?;
    }
    let members: usize = patcher.out.member_ops.iter().map(MemberOp::id_count).sum();
    opts.limits.check_members(members)?;
    patcher.out.warnings = patcher.warnings.into_vec();
    Ok(patcher.out)
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

#[cfg(test)]
mod tests;
