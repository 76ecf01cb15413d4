//! `scim-proto`: the SCIM 2.0 protocol (RFC 7643, RFC 7644) as pure code, no I/O.
//!
//! - [`canonical`]: canonical forms of values (case fold, dateTime)
//! - [`error`]: SCIM error bodies and `scimType` (RFC 7644 §3.12)
//! - [`schema`]: schemas, attribute definitions, path resolution (RFC 7643 §2, §7)
//! - [`path`], [`filter`]: attribute paths and the filter grammar (RFC 7644 §3.4.2.2, §3.10)
//! - [`normalize`]: turning client JSON into canonical resource documents
//! - [`patch`]: the PATCH engine (RFC 7644 §3.5.2) with the dialects Entra ID sends
//! - [`projection`]: `attributes` / `excludedAttributes` (RFC 7644 §3.9)
//! - [`list`]: list and search parameters (RFC 7644 §3.4.2, §3.4.3)
//! - [`limits`]: bounds on what a write may store, and the characters of identifiers

pub mod canonical;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod identifier;
mod json;
mod lexer;
pub mod limits;
pub mod list;
pub mod normalize;
pub mod patch;
pub mod path;
pub mod projection;
pub mod schema;
pub mod warnings;

pub use error::{ScimError, ScimResult, ScimType};
