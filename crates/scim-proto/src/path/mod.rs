//! Attribute paths (RFC 7644 §3.10, ABNF in §3.4.2.2 and §3.5.2).
//!
//! `attrPath  = [URI ":"] ATTRNAME *1subAttr`
//! `PATH      = attrPath / valuePath [subAttr]`  (PATCH paths)
//!
//! [`AttrPath`] and its grammar are in `attr.rs`; [`PatchPath`] and its grammar in
//! `patch_path.rs`. Both read with the cursor of the crate's lexer (`lexer.rs`); a PATCH path's value
//! filter is read by [`crate::filter`]'s grammar.

pub(crate) mod attr;
pub(crate) mod patch_path;

pub use attr::{parse_attr_path, AttrPath};
pub use patch_path::{parse_patch_path, PatchPath};
