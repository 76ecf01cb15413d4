//! The SCIM filter grammar (RFC 7644 §3.4.2.2): parse to an AST, evaluate in memory,
//! validate against a resource type.
//!
//! Parsing is hand-written recursive descent with depth and length limits; every
//! error is a 400 `invalidFilter` (or `invalidPath` for PATCH paths) naming the
//! position. Storage back ends translate the AST to SQL; [`matches()`] is the
//! reference semantics they must agree with.
//!
//! # Grammar (RFC 7644 §3.4.2.2, Figure 1; §3.5.2 for PATCH paths)
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string     ; JSON (RFC 7159)
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ATTRNAME  = ALPHA *(nameChar)   ; plus "$ref"
//! nameChar  = "-" / "_" / DIGIT / ALPHA
//! subAttr   = "." ATTRNAME
//! PATH      = attrPath / valuePath [subAttr]             ; PATCH (§3.5.2)
//! ```
//!
//! Precedence, highest first: grouping `( )`, `not`, `and`, `or`; `and` and `or` are
//! left-associative. Keywords (operators, `and`, `or`, `not`, `pr`, `true`, `false`,
//! `null`) are case-insensitive; attribute names keep their spelling. A schema URI prefix
//! is everything before the *last* `:` of the path (schema URNs contain dots, e.g. `2.0`).
//!
//! Leniencies beyond the ABNF: any run of spaces, tabs, CR or LF separates tokens and
//! may surround the whole filter; no space is needed next to `(`, `)`, `[`, `]` or
//! between an operator and a quoted string; `emails[type eq "work"].value eq "x"` is
//! read as `emails[type eq "work" and value eq "x"]`.
//!
//! Error details have the form `invalid filter at position N: expected ..., found ...`
//! where `N` is a **1-based character (not byte) offset** into the string given.
//!
//! Layout: the AST ([`Filter`], [`CompareOp`], [`CompValue`]) and its rendering (`ast.rs`),
//! the grammar (`parser.rs`, on the cursor it shares with [`crate::path`]), where a path
//! leads in a document (`resolve.rs`), evaluation (`eval.rs`), validation (`validate.rs`).
//! Attribute and PATCH paths are parsed by [`crate::path`]; the case fold lives in
//! [`crate::canonical`].

pub(crate) mod ast;
mod eval;
pub(crate) mod parser;
pub(crate) mod resolve;
mod validate;

pub use crate::canonical::fold;
pub use crate::lexer::MAX_FILTER_LEN;
pub use ast::{CompValue, CompareOp, Filter};
pub use eval::{matches, matches_element};
pub use parser::{parse, MAX_FILTER_DEPTH};
pub use validate::{validate, validate_value_filter};

#[cfg(test)]
mod tests;
