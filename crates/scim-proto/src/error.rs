//! SCIM errors (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a
//! `detail` a person can act on.

use serde_json::{json, Value};

/// The `scimType` keywords of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax was invalid or the attribute and comparison combination is not supported.
    InvalidFilter,
    /// The filter yields too many results for the server to process.
    TooMany,
    /// One or more attribute values are already in use or reserved.
    Uniqueness,
    /// The attempted modification is not compatible with the attribute's mutability.
    Mutability,
    /// The request body message structure was invalid or did not conform to the request schema.
    InvalidSyntax,
    /// The `path` attribute was invalid or malformed.
    InvalidPath,
    /// The specified `path` did not yield an attribute or attribute value that could be operated on.
    NoTarget,
    /// A required value was missing, or the value specified was not compatible with the operation or attribute type.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because of sensitive information in the URI.
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears in the `scimType` member of an error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// An error a SCIM client sees: HTTP `status`, optional `scimType`, human `detail`.
///
/// Rendered by [`ScimError::to_json`] as an RFC 7644 §3.12 body whose `status` is a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map(|t| t.as_str()).unwrap_or("-"))]
pub struct ScimError {
    /// HTTP status code (400, 401, 403, 404, 409, 412, 413, 500, 501 ...).
    pub status: u16,
    /// The `scimType` keyword, where RFC 7644 defines one for the failure.
    pub scim_type: Option<ScimType>,
    /// What went wrong, in words a person can act on.
    pub detail: String,
}

/// The error schema URN (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

impl ScimError {
    /// A new error with the given status, scimType and detail.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    /// 400 with `scimType` `t`.
    pub fn bad_request(t: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(t), detail)
    }

    /// The RFC 7644 §3.12 error body: `{"schemas":[ERROR_SCHEMA],"status":"400","scimType":...,"detail":...}`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            v["scimType"] = Value::String(t.as_str().to_string());
        }
        v
    }
}

/// Defines the named constructors of [`ScimError`], one table row each: its doc comment,
/// its name, and the status and `scimType` every error it makes has.
macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $status:literal, $scim_type:expr;)*) => {
        impl ScimError {
            $(
                $(#[$doc])*
                pub fn $name(detail: impl Into<String>) -> Self {
                    Self::new($status, $scim_type, detail)
                }
            )*
        }
    };
}

constructors! {
    /// 400 invalidFilter.
    invalid_filter => 400, Some(ScimType::InvalidFilter);
    /// 400 invalidValue.
    invalid_value => 400, Some(ScimType::InvalidValue);
    /// 400 invalidSyntax.
    invalid_syntax => 400, Some(ScimType::InvalidSyntax);
    /// 400 invalidPath.
    invalid_path => 400, Some(ScimType::InvalidPath);
    /// 400 noTarget.
    no_target => 400, Some(ScimType::NoTarget);
    /// 400 mutability.
    mutability => 400, Some(ScimType::Mutability);
    /// 404 without scimType.
    not_found => 404, None;
    /// 409 uniqueness.
    uniqueness => 409, Some(ScimType::Uniqueness);
    /// 412 Precondition Failed (stale `If-Match`).
    precondition_failed => 412, None;
    /// 500; the detail must not leak internals a client cannot act on.
    internal => 500, None;
}

/// Result alias for the protocol layer.
pub type ScimResult<T> = Result<T, ScimError>;
