//! The directory's errors, and the one place a store failure becomes what a client is told.
//!
//! - SCIM operations return `ScimError` (RFC 7644 §3.12: status, `scimType`, `detail`).
//! - Administrator operations (admin API, portal) and commands return [`DirectoryError`].
//! - A store failure enters either through `?`: [`From<StoreError>`] for both types, which
//!   logs it once and maps it once ([`DirectoryError::status`], [`DirectoryError::message`]).

use crate::store::{ConflictTarget, StoreError};
use scim_proto::{ScimError, ScimType};

/// Errors of the directory's administrator operations and commands. Each has an HTTP
/// status ([`DirectoryError::status`]) and a message a person can act on
/// ([`DirectoryError::message`]); the admin API, the portal and the SCIM endpoints render
/// them each in their own format.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A request that cannot be done (400), with a message a person can act on.
    #[error("{0}")]
    Invalid(String),
    /// What the request names does not exist (404), e.g. `User 1234 not found`.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the directory's state (409): a name already taken, a
    /// group that is built in or provisioned, a user that is still active.
    #[error("{0}")]
    Conflict(String),
    /// The request broke the protocol: a document or value SCIM validation refused (its
    /// status, `scimType` and detail are kept).
    #[error("{}", .0.detail)]
    Protocol(ScimError),
    /// The server is too busy for this request now (503, retryable at once or after a
    /// second): the password-hashing queue is full.
    #[error("{0}")]
    Busy(String),
    /// A store failure (logged when it happened; never shown to clients as such).
    #[error(transparent)]
    Store(StoreError),
}

/// Result alias of the directory's administrator operations.
pub type DirectoryResult<T> = Result<T, DirectoryError>;

/// What a client is told of a transaction that concurrent ones aborted, or that found the
/// database busy: retryable, nothing changed.
const CONTENTION: &str = "the directory could not complete the request because of concurrent requests (one changed the same data, or the database was busy); it changed nothing and may be retried";

/// What a client is told of any other store failure (the database's own message is logged,
/// never sent).
const BACKEND: &str = "the directory could not complete the request because of a storage error; it changed nothing and may be retried";

impl From<StoreError> for DirectoryError {
    /// Logs the failures a client cannot cause (contention at warn, the rest at error).
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::Contention(m) => {
                tracing::warn!(error = %m, "transaction aborted by concurrent ones")
            }
            StoreError::Backend(m) => tracing::error!(error = %m, "store error"),
            StoreError::Unwritable(why, m) => {
                tracing::error!(error = %m, reason = %why, "the database cannot take writes")
            }
            StoreError::Timeout(_) => {
                tracing::warn!(error = %e, "statement cancelled at the time limit")
            }
            StoreError::Conflict(_)
            | StoreError::Unsupported(_)
            | StoreError::TenantDeleting(_) => {}
        }
        DirectoryError::Store(e)
    }
}

impl From<ScimError> for DirectoryError {
    fn from(e: ScimError) -> Self {
        DirectoryError::Protocol(e)
    }
}

impl DirectoryError {
    /// The HTTP status: 400 invalid, 404 not found, 409 conflict, 503 busy; a protocol
    /// error's own; for a store failure 409 (a uniqueness race lost), 400 (a filter the store
    /// cannot translate), 503 (contention, or a database that cannot take writes:
    /// retryable) or 500.
    pub fn status(&self) -> u16 {
        match self {
            DirectoryError::Invalid(_) => 400,
            DirectoryError::NotFound(_) | DirectoryError::Store(StoreError::TenantDeleting(_)) => {
                404
            }
            DirectoryError::Conflict(_) => 409,
            DirectoryError::Protocol(e) => e.status,
            DirectoryError::Busy(_) => 503,
            DirectoryError::Store(StoreError::Conflict(_)) => 409,
            DirectoryError::Store(StoreError::Unsupported(_)) => 400,
            DirectoryError::Store(StoreError::Contention(_) | StoreError::Unwritable(..)) => 503,
            DirectoryError::Store(StoreError::Timeout(_)) => 503,
            DirectoryError::Store(StoreError::Backend(_)) => 500,
        }
    }

    /// The SCIM `scimType` the error has on `/scim/v2` (RFC 7644 §3.12).
    pub fn scim_type(&self) -> Option<ScimType> {
        match self {
            DirectoryError::Invalid(_) => Some(ScimType::InvalidValue),
            DirectoryError::Conflict(_) | DirectoryError::Store(StoreError::Conflict(_)) => {
                Some(ScimType::Uniqueness)
            }
            DirectoryError::Store(StoreError::Unsupported(_)) => Some(ScimType::InvalidFilter),
            DirectoryError::Protocol(e) => e.scim_type,
            DirectoryError::NotFound(_) | DirectoryError::Busy(_) | DirectoryError::Store(_) => {
                None
            }
        }
    }

    /// The message for the client: the error's own text, or for a store failure a fixed
    /// one (what the database said is logged, never sent).
    pub fn message(&self) -> String {
        match self {
            DirectoryError::Invalid(m)
            | DirectoryError::NotFound(m)
            | DirectoryError::Conflict(m)
            | DirectoryError::Busy(m) => m.clone(),
            DirectoryError::Protocol(e) => e.detail.clone(),
            DirectoryError::Store(StoreError::Conflict(what)) => {
                format!("{what} is already in use in this tenant")
            }
            DirectoryError::Store(StoreError::Unsupported(m)) => m.clone(),
            DirectoryError::Store(StoreError::Contention(_)) => CONTENTION.to_string(),
            DirectoryError::Store(StoreError::Unwritable(why, _)) => format!(
                "the directory cannot save changes now: {}; nothing was changed, and the request may be retried once an operator has fixed the database",
                why.describe()
            ),
            DirectoryError::Store(StoreError::Timeout(limit)) => format!(
                "the directory cancelled the request: a database statement ran longer than {} \
                 (the statement time limit); it changed nothing and may be retried",
                seconds(*limit)
            ),
            DirectoryError::Store(StoreError::TenantDeleting(_)) => {
                "this tenant is being deleted: nothing was changed".to_string()
            }
            DirectoryError::Store(StoreError::Backend(_)) => BACKEND.to_string(),
        }
    }
}

impl From<DirectoryError> for ScimError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Protocol(e) => e,
            e => ScimError::new(e.status(), e.scim_type(), e.message()),
        }
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        DirectoryError::from(e).into()
    }
}

/// "30 s", or "its limit" when the limit is not known.
fn seconds(limit: Option<std::time::Duration>) -> String {
    limit.map_or("its limit".to_string(), |d| format!("{} s", d.as_secs()))
}

/// What a SCIM list answers when its query ran past the statement time limit: with a
/// filter, 400 `tooMany` (RFC 7644 §3.12: "the specified filter yields many more results
/// than the server is willing to calculate or process"): the client's filter was too
/// expensive, and retrying it would cost the same again; without one, the store's 503.
pub(crate) fn list_error(e: StoreError, filtered: bool) -> ScimError {
    match e {
        StoreError::Timeout(limit) if filtered => {
            tracing::warn!("a SCIM list filter was cancelled at the statement time limit");
            ScimError::bad_request(
                ScimType::TooMany,
                format!(
                    "the filter took longer than {} to evaluate (the server's statement time \
                     limit) and was cancelled: narrow it, e.g. with eq on userName, externalId \
                     or emails.value, or fewer co/sw/ew terms",
                    seconds(limit)
                ),
            )
        }
        e => e.into(),
    }
}

/// `res` as a directory result, with a unique-key conflict on `target` answered by `err()`
/// (a message naming what the administrator chose and what to do instead) rather than the
/// store's generic conflict; any other failure maps through [`From<StoreError>`].
pub(crate) fn on_conflict<T>(
    res: Result<T, StoreError>,
    target: ConflictTarget,
    err: impl FnOnce() -> DirectoryError,
) -> DirectoryResult<T> {
    match res {
        Err(StoreError::Conflict(t)) if t == target => Err(err()),
        res => Ok(res?),
    }
}

/// `<kind> <id> not found` (404).
pub(crate) fn not_found(kind: &str, id: &str) -> DirectoryError {
    DirectoryError::NotFound(format!("{kind} {id} not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_map_once() {
        let e = |s: StoreError| ScimError::from(s);
        let c = e(StoreError::Conflict(crate::store::ConflictTarget::UserName));
        assert_eq!((c.status, c.scim_type), (409, Some(ScimType::Uniqueness)));
        assert_eq!(c.detail, "userName is already in use in this tenant");
        let u = e(StoreError::Unsupported("sortBy".into()));
        assert_eq!(
            (u.status, u.scim_type),
            (400, Some(ScimType::InvalidFilter))
        );
        assert_eq!(e(StoreError::Contention("x".into())).status, 503);
        let r = e(StoreError::Unwritable(
            crate::store::Unwritable::ReadOnly,
            "attempt to write a readonly database".into(),
        ));
        assert_eq!(r.status, 503);
        assert!(r.detail.contains("read-only") && !r.detail.contains("attempt"));
        let b = e(StoreError::Backend("disk on fire".into()));
        assert_eq!(b.status, 500);
        assert!(!b.detail.contains("disk"), "{}", b.detail);
    }

    #[test]
    fn directory_errors_keep_their_status() {
        assert_eq!(DirectoryError::Invalid("x".into()).status(), 400);
        assert_eq!(DirectoryError::NotFound("x".into()).status(), 404);
        assert_eq!(DirectoryError::Conflict("x".into()).status(), 409);
        let p = DirectoryError::from(ScimError::invalid_syntax("bad"));
        assert_eq!(p.status(), 400);
        assert_eq!(ScimError::from(p).scim_type, Some(ScimType::InvalidSyntax));
        let s = ScimError::from(DirectoryError::NotFound("User u not found".into()));
        assert_eq!((s.status, s.detail.as_str()), (404, "User u not found"));
    }
}
