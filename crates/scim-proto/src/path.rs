//! Attribute paths (RFC 7644 §3.10, ABNF in §3.4.2.2 and §3.5.2).
//!
//! `attrPath  = [URI ":"] ATTRNAME *1subAttr`
//! `PATH      = attrPath / valuePath [subAttr]`  (PATCH paths)

use crate::error::ScimResult;
use crate::filter::Filter;

/// An attribute path: optional schema URN, attribute name, optional sub-attribute.
///
/// Names are kept as written; comparisons against schema names are case-insensitive
/// (RFC 7643 §2.1). `uri` is `None` when the path is not URN-qualified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// Schema URN prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub uri: Option<String>,
    /// Top-level attribute name, e.g. `emails`.
    pub attr: String,
    /// Sub-attribute name, e.g. `value` in `emails.value`.
    pub sub_attr: Option<String>,
}

/// A PATCH `path` (RFC 7644 §3.5.2): an attribute path, optionally with a value
/// filter on a multi-valued attribute and a sub-attribute after the filter.
///
/// `emails[type eq "work"].value` → `attr = emails`, `filter = Some(type eq "work")`,
/// `sub_attr_after_filter = Some("value")`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute path before any `[...]`.
    pub attr: AttrPath,
    /// The value filter inside `[...]`, evaluated against each element of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`, e.g. `value` in `emails[type eq "work"].value`.
    pub sub_attr_after_filter: Option<String>,
}

impl AttrPath {
    /// Parses `[URI ":"] ATTRNAME ["." subAttr]`.
    ///
    /// Errors: 400 invalidPath naming the offending position.
    pub fn parse(s: &str) -> ScimResult<AttrPath> {
        crate::filter::parse_attr_path(s)
    }
}

impl PatchPath {
    /// Parses a PATCH `path` value.
    ///
    /// Errors: 400 invalidPath (or invalidFilter for a bad value filter) naming the position.
    pub fn parse(s: &str) -> ScimResult<PatchPath> {
        crate::filter::parse_patch_path(s)
    }
}
