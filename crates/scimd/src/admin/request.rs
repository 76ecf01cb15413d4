//! What admin API requests carry: the authenticated [`Admin`] caller, JSON bodies, query
//! parameters (paging, times).

use super::reply::AdminError;
use crate::auth::{authenticate, request_info, Failure};
use crate::body::JsonBody;
use crate::query::{decode_query, parse_time};
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use scimd_directory::admin::ADMIN_MAX_PAGE;
use scimd_directory::directory::Caller;
use scimd_directory::store::TokenScope;
use serde_json::Value;
use time::OffsetDateTime;

/// Page size of the paged lists when `count` is not given.
pub const DEFAULT_COUNT: u64 = 50;

// ---------------------------------------------------------------- authentication

/// Declares an extractor `$name(AppState, Caller)` of the routes that need a bearer token of
/// scope `$scope`; `$missing` is the detail of the 401 answered without one. The extractors
/// differ only in those two.
macro_rules! scoped_extractor {
    ($(#[$doc:meta])* $name:ident, $scope:expr, $missing:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(pub AppState, pub Caller);

        impl FromRequestParts<AppState> for $name {
            type Rejection = Response;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Response> {
                let c = caller(parts, state, ($scope, $missing)).await?;
                Ok($name(state.clone(), c))
            }
        }
    };
}

scoped_extractor!(
    /// The server state and the authenticated caller of an admin route, which every admin
    /// handler needs both of: extracting it requires a bearer token of scope `admin`. 401 (with
    /// its RFC 6750 challenge, [`crate::auth`]) without a valid token, 403 `insufficient_scope`
    /// for a credential of scope `scim`, 429 beyond the token's rate limit ([`crate::rate`]). It
    /// is an extractor rather than a route layer so that a wrong method is answered 405 before
    /// any authentication, and so handlers list it first (nothing is read from the request
    /// before the caller is known).
    Admin,
    TokenScope::Admin,
    "authentication required: send `Authorization: Bearer <secret>` with the secret of an admin token (create one with `scimd token create --name NAME --scope admin`)"
);

scoped_extractor!(
    /// The server state and the authenticated caller of an operator route (`/api/v1/tenants`,
    /// issue 15): a bearer token of scope `operator` ([`scimd_directory::operators`]). Refused
    /// as [`Admin`] is otherwise: 401 without a valid token (a tenant's token is another
    /// tenant's here), 403 `insufficient_scope` for another scope, 429 beyond its rate limit.
    Operator,
    TokenScope::Operator,
    "authentication required: send `Authorization: Bearer <secret>` with the secret of an operator token (create one with `scimd token create --name NAME --scope operator`)"
);

/// Authenticates an admin API request for `scope` ([`authenticate`]); a refusal as the
/// admin API's JSON error with its challenge.
async fn caller(
    parts: &Parts,
    state: &AppState,
    scope: (TokenScope, &str),
) -> Result<Caller, Response> {
    let info = request_info(&parts.method, &parts.uri, &parts.extensions);
    match authenticate(state, (&parts.headers, &parts.extensions), info, scope).await {
        Ok(c) => Ok(c),
        Err(Failure::Refused(r)) => {
            Err(r.respond(|status, m| AdminError::new(status, m).into_response()))
        }
        Err(Failure::Limited(r)) => Err(r.answer(state.limiter.limits(), |m| {
            AdminError::new(429, m).into_response()
        })),
        Err(Failure::Store(e)) => Err(AdminError::from(e).into_response()),
    }
}

// ---------------------------------------------------------------- request helpers

/// A JSON request body under the configured size limit; errors render as admin errors
/// (400 for an empty body or invalid JSON, 413 for a body over the limit).
#[derive(Debug)]
pub struct AdminJson(pub Value);

impl FromRequest<AppState> for AdminJson {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match JsonBody::from_request(req, state).await {
            Ok(JsonBody(v)) => Ok(AdminJson(v)),
            Err(e) => Err(e.0.into()),
        }
    }
}

pub(super) fn object<'a>(
    body: &'a Value,
    what: &str,
) -> Result<&'a serde_json::Map<String, Value>, AdminError> {
    body.as_object().ok_or_else(|| {
        AdminError::bad_request(format!("the request body must be a JSON object ({what})"))
    })
}

/// The body of a creation from a name and one optional setting (`{"name": ..., "<setting>":
/// ...}`): a JSON object with no other key, `name` a string, `setting` a string or absent
/// (`what` names what it creates: `an attribute`, `a token`; `example` shows a body).
/// Errors: 400 for another value, another key, a missing `name` or a value not a string.
pub(super) fn name_and(
    body: &Value,
    setting: &str,
    what: &str,
    example: &str,
) -> Result<(String, Option<String>), AdminError> {
    let obj = object(body, example)?;
    if let Some(k) = obj.keys().find(|k| *k != "name" && *k != setting) {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': {what} is created from 'name' and '{setting}'"
        )));
    }
    let name = string_field(obj, "name", true)?.unwrap_or_default();
    Ok((name, string_field(obj, setting, false)?))
}

/// Decoded query parameters (names compared ignoring case; the first value wins).
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    /// The parameters of the query string `raw`, refusing any whose name (ignoring case) is
    /// not one of `known`, the endpoint's: ignored, a mistyped filter (`stat=inactive`) would
    /// silently answer everything. Errors: 400 naming the parameter and the endpoint's
    /// parameters.
    pub(super) fn new(raw: Option<String>, known: &[&str]) -> Result<Query, AdminError> {
        let q = Query(decode_query(raw.as_deref()));
        let unknown =
            |k: &String| !k.is_empty() && !known.iter().any(|n| n.eq_ignore_ascii_case(k));
        if let Some((k, _)) = q.0.iter().find(|(k, _)| unknown(k)) {
            let takes = if known.is_empty() {
                "no parameter".to_string()
            } else {
                known.join(", ")
            };
            return Err(AdminError::bad_request(format!(
                "unknown query parameter '{k}': this endpoint takes {takes}"
            )));
        }
        Ok(q)
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A non-blank parameter, trimmed.
    pub(super) fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// A parameter of a closed vocabulary: `parse` reads it (`None` for a word outside it),
    /// `allowed` names the words for the message. Errors: 400 naming the parameter, the
    /// words and the value given.
    pub(super) fn choice<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Result<Option<T>, AdminError> {
        let Some(v) = self.text(name) else {
            return Ok(None);
        };
        parse(&v).map(Some).ok_or_else(|| {
            AdminError::bad_request(format!("{name} must be one of {allowed}; got '{v}'"))
        })
    }

    pub(super) fn int(&self, name: &str) -> Result<Option<i64>, AdminError> {
        match self.get(name).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                AdminError::bad_request(format!("{name} must be an integer, got '{s}'"))
            }),
        }
    }

    /// `startIndex` (1-based; below 1 counts as 1) and `count` (default `default`, negative
    /// counts as 0, at most [`ADMIN_MAX_PAGE`]).
    pub(super) fn page(&self, default: u64) -> Result<(u64, u64), AdminError> {
        self.page_named("startIndex", "count", default)
    }

    pub(super) fn page_named(
        &self,
        start: &str,
        count: &str,
        default: u64,
    ) -> Result<(u64, u64), AdminError> {
        let s = self.int(start)?.unwrap_or(1).max(1) as u64;
        let c = match self.int(count)? {
            None => default,
            Some(n) => (n.max(0) as u64).min(ADMIN_MAX_PAGE),
        };
        Ok((s, c))
    }

    pub(super) fn time(&self, name: &str) -> Result<Option<OffsetDateTime>, AdminError> {
        match self.text(name) {
            None => Ok(None),
            Some(s) => parse_time(&s).map(Some).ok_or_else(|| {
                AdminError::bad_request(format!(
                    "{name} must be an RFC 3339 date and time such as 2026-01-31T08:00:00Z, got '{s}'"
                ))
            }),
        }
    }
}

pub(super) fn string_field(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<Option<String>, AdminError> {
    match obj.get(key) {
        None | Some(Value::Null) if required => {
            Err(AdminError::bad_request(format!("'{key}' is required")))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AdminError::bad_request(format!("'{key}' must be a string"))),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The parameters of a query string.
    pub(in crate::admin) fn q(s: &str) -> Query {
        Query(decode_query(Some(s)))
    }

    #[test]
    fn unknown_parameters_are_refused() {
        let known = ["state", "startIndex"];
        assert!(Query::new(Some("STATE=active&startindex=2".into()), &known).is_ok());
        let e = Query::new(Some("stat=inactive".into()), &known)
            .err()
            .unwrap();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("'stat'") && e.message.contains("state, startIndex"));
        assert!(Query::new(None, &[]).is_ok());
        assert!(Query::new(Some("x=1".into()), &[]).is_err());
    }

    #[test]
    fn paging_parameters() {
        assert_eq!(q("").page(50).unwrap(), (1, 50));
        assert_eq!(q("startIndex=0&count=-3").page(50).unwrap(), (1, 0));
        assert_eq!(q("startindex=11&COUNT=100000").page(50).unwrap(), (11, 500));
        assert_eq!(q("startIndex=x").page(50).unwrap_err().status, 400);
        assert_eq!(q("count=1.5").page(50).unwrap_err().status, 400);
    }

    #[test]
    fn times() {
        assert!(parse_time("2026-01-31T08:00:00Z").is_some());
        // `+` decoded as a space from a query string
        let t = parse_time("2026-01-31T08:00:00 02:00").unwrap();
        assert_eq!(t.offset().whole_hours(), 2);
        assert!(parse_time("2026-01-31").is_none());
        assert!(q("since=yesterday").time("since").is_err());
    }
}
