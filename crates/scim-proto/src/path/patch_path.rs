//! PATCH paths (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`, the type and
//! its parser (the value filter inside `[...]` is read by the filter grammar).

use crate::error::{ScimResult, ScimType};
use crate::filter::ast::Filter;
use crate::lexer::{clip, Parser};
use crate::path::attr::AttrPath;

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

impl PatchPath {
    /// Parses a PATCH `path` value.
    ///
    /// Errors: 400 invalidPath (or invalidFilter for a bad value filter) naming the position.
    pub fn parse(s: &str) -> ScimResult<PatchPath> {
        parse_patch_path(s)
    }
}

/// Parses a PATCH path (used by [`PatchPath::parse`]). Errors: 400 invalidPath / invalidFilter.
///
/// Grammar (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`, e.g. `members`,
/// `name.givenName`, `emails[type eq "work"].value`,
/// `urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value`.
/// A `]` inside a string literal of the value filter does not close it.
///
/// Errors: 400 `invalidPath` for a malformed path (bad name, sub-attribute before `[`,
/// missing `]`, trailing text); 400 `invalidFilter` for a malformed filter inside `[...]`.
/// Positions are 1-based character offsets into `input`.
pub fn parse_patch_path(input: &str) -> ScimResult<PatchPath> {
    let (mut p, tok, attr) = Parser::begin_path(input, "empty path")?;
    let mut filter = None;
    let mut sub_attr_after_filter = None;
    if p.peek() == Some('[') {
        let open = p.pos;
        if attr.sub_attr.is_some() {
            return Err(p.err(
                ScimType::InvalidPath,
                open,
                format!(
                    "a value filter '[...]' must follow an attribute name, not the sub-attribute path '{}'",
                    clip(tok, 60)
                ),
            ));
        }
        p.depth = 1;
        p.pos += 1;
        p.skip_ws();
        if p.peek() == Some(']') {
            return Err(p.err(ScimType::InvalidFilter, p.pos, "empty value filter '[]'"));
        }
        filter = Some(p.parse_or(true)?);
        p.skip_ws();
        if p.peek() != Some(']') {
            return Err(p.err(
                ScimType::InvalidPath,
                p.pos,
                format!(
                    "expected 'and', 'or' or ']' to close the '[' at position {}, found {}",
                    p.char_pos(open),
                    p.describe_at(p.pos)
                ),
            ));
        }
        p.pos += 1;
        sub_attr_after_filter = p
            .sub_after_filter(ScimType::InvalidPath)?
            .map(str::to_string);
    }
    p.end_path("path")?;
    Ok(PatchPath {
        attr,
        filter,
        sub_attr_after_filter,
    })
}
