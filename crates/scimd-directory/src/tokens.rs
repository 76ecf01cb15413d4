//! Tenants and bearer tokens: first-start bootstrap, authentication, token management.
//! (Secrets themselves are made and hashed by [`crate::secret`].)
//!
//! Secrets are 256 random bits, shown once as 64 hex characters and stored only as their
//! SHA-256. Authentication looks the hash up through a unique index and then compares it in
//! constant time (`subtle`). Last use is recorded at most once a minute per token, so reads
//! do not turn into writes.

use crate::changes::{target, AuditAction, Recorder, SUCCEEDED};
use crate::directory::{Bootstrap, Caller, Directory, DirectoryError, Origin, RequestInfo};
use crate::error::on_conflict;
use crate::operators::is_realm;
use crate::secret::{hash_secret, new_secret};
use crate::store::{Change, ChangeRecord, ConflictTarget, CredentialKey, TokenRow, TokenScope};
use serde_json::Value;
use subtle::ConstantTimeEq;

/// Name of the tenant created on first start.
pub const DEFAULT_TENANT: &str = "default";
/// Name of the SCIM token created on first start.
pub const BOOTSTRAP_TOKEN_NAME: &str = "initial";
/// How often (seconds) a token's last-used time is written at most.
pub const LAST_USED_GRANULARITY_SECS: i64 = 60;
/// The prefix of static token secrets made since issue 16 (`scimd_` and 64 hex characters),
/// so that secret scanners find leaked ones and refusals can say what was presented.
/// Secrets made before keep working without it.
pub const STATIC_PREFIX: &str = "scimd_";
/// The prefix of an access token of an OAuth client (issued by the token endpoint).
pub const ACCESS_TOKEN_PREFIX: &str = "scimd_at_";
/// Longest `--expires-in` of a static token: ten years.
pub const MAX_TOKEN_LIFETIME_DAYS: i64 = 3650;

/// The outcome of [`Directory::authenticate`]: the caller, or why the secret is refused.
pub type Verdict = Result<Caller, Rejected>;

/// What kind of bearer secret was presented, told from its prefix alone (never from a
/// lookup): how authentication proceeds, and what a refusal record says was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An access token of an OAuth client (`scimd_at_…`, [`ACCESS_TOKEN_PREFIX`]).
    AccessToken,
    /// A static token made since issue 16 (`scimd_…`).
    Static,
    /// Anything else: a static token made before the prefix, or not a scimd secret.
    Legacy,
}

impl CredentialKind {
    /// The kind of `secret`.
    pub fn of(secret: &str) -> CredentialKind {
        if secret.starts_with(ACCESS_TOKEN_PREFIX) {
            CredentialKind::AccessToken
        } else if secret.starts_with(STATIC_PREFIX) {
            CredentialKind::Static
        } else {
            CredentialKind::Legacy
        }
    }

    /// How a refusal record names an unknown secret of this kind.
    pub fn unknown(self) -> &'static str {
        match self {
            CredentialKind::AccessToken => "unknown access token (scimd_at_)",
            CredentialKind::Static => "unknown static token (scimd_)",
            CredentialKind::Legacy => "unknown secret (no scimd prefix)",
        }
    }
}

/// Why a presented credential is not accepted (RFC 6750 §3.1 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No credential has this secret.
    Unknown,
    /// It expired.
    Expired,
    /// It (or its OAuth client) was revoked.
    Revoked,
}

impl Rejection {
    /// `unknown`, `expired`, `revoked`: the reason as refusal records count it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Unknown => "unknown",
            Rejection::Expired => "expired",
            Rejection::Revoked => "revoked",
        }
    }

    /// Why a known credential is refused, if it is: when `revoked` (itself or its OAuth
    /// client), else when `expired`.
    pub(crate) fn of_known(revoked: bool, expired: bool) -> Option<Rejection> {
        if revoked {
            Some(Rejection::Revoked)
        } else if expired {
            Some(Rejection::Expired)
        } else {
            None
        }
    }
}

/// A refused credential: why, the tenant it belongs to when it is known, and what it was
/// (`token 'okta'`, `client 'entra'`, or its kind when unknown; never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Why.
    pub reason: Rejection,
    /// The credential's tenant, when the credential is known.
    pub tenant_id: Option<String>,
    /// What it was.
    pub credential: String,
}

impl Rejected {
    /// An unknown secret of `kind`.
    pub fn unknown(kind: CredentialKind) -> Rejected {
        Rejected {
            reason: Rejection::Unknown,
            tenant_id: None,
            credential: kind.unknown().to_string(),
        }
    }

    /// A known credential of tenant `tenant_id`, refused for `reason`.
    pub fn of(reason: Rejection, tenant_id: &str, credential: String) -> Rejected {
        Rejected {
            reason,
            tenant_id: Some(tenant_id.to_string()),
            credential,
        }
    }
}

impl Directory {
    /// First start: when the database has no tenant, creates the default tenant (with its built-in
    /// "All Users" group), a SCIM token named [`BOOTSTRAP_TOKEN_NAME`] and the portal
    /// administrator [`crate::admins::BOOTSTRAP_ADMIN`] with a random password, and returns
    /// the token's secret and the password (to print once).
    /// Returns `None` when the database is already initialised (found in a read
    /// transaction first, so that a database that cannot take writes still starts).
    pub async fn bootstrap(&self) -> Result<Option<Bootstrap>, DirectoryError> {
        self.bootstrap_then(|_| Ok(())).await
    }

    /// [`Directory::bootstrap`], handing what it created to `keep` before committing (the
    /// server writes the secrets to a file there): when `keep` fails, nothing is created and
    /// its message is the error (`Invalid`).
    pub async fn bootstrap_then(
        &self,
        keep: impl FnOnce(&Bootstrap) -> Result<(), String> + Send,
    ) -> Result<Option<Bootstrap>, DirectoryError> {
        if has_tenant(self.store().read().await?.as_mut()).await? {
            return Ok(None);
        }
        let admin_password = crate::admins::new_password();
        let admin_hash = self.hash(&admin_password).await?;
        let mut tx = self.store().write().await?;
        // Checked again in the write transaction: another instance may have been first.
        if has_tenant(tx.as_mut()).await? {
            return Ok(None);
        }
        // First start is recorded as the server's own command.
        let by = |t: &str| Origin::cli(t, "scimd", "scimd serve (first start)");
        let name = (DEFAULT_TENANT, crate::tenants::FIRST_SLUG);
        let admin = (admin_password, admin_hash);
        let (_, made) = crate::tenants::new_tenant(tx.as_mut(), name, &by, admin).await?;
        keep(&made).map_err(DirectoryError::Invalid)?;
        tx.commit().await?;
        Ok(Some(made))
    }

    /// Whether the database takes writes: writes the heartbeat row in a transaction of its
    /// own (for `/readyz`, which calls it at most every few seconds).
    ///
    /// Errors: the store's, `Unwritable` when the database is read-only or full.
    pub async fn check_writable(&self) -> Result<(), crate::StoreError> {
        let mut tx = self.store().write().await?;
        tx.touch_heartbeat(crate::render::now()).await?;
        tx.commit().await
    }

    /// Records `url` (a base URL without `/scim/v2`, e.g. `https://scim.example.com`) as the
    /// deployment's public URL ([`crate::store::PUBLIC_URL_FACT`]), from which commands print
    /// the URLs they show; `scimd serve` calls it at start. Errors: the store's.
    pub async fn record_public_url(&self, url: &str) -> Result<(), crate::StoreError> {
        let mut tx = self.store().write().await?;
        let fact = crate::store::PUBLIC_URL_FACT;
        tx.set_deployment_fact(fact, url, crate::render::now())
            .await?;
        tx.commit().await
    }

    /// The public URL the last `scimd serve` recorded ([`Directory::record_public_url`]),
    /// if any. Errors: the store's.
    pub async fn recorded_public_url(&self) -> Result<Option<String>, crate::StoreError> {
        let mut tx = self.store().read().await?;
        tx.deployment_fact(crate::store::PUBLIC_URL_FACT).await
    }

    /// The id of the default (first) tenant. Errors when the database is not initialised.
    pub async fn default_tenant_id(&self) -> Result<String, DirectoryError> {
        let mut tx = self.store().read().await?;
        let tenants = tx.list_tenants().await?;
        let mut customers = tenants.into_iter().filter(|t| !is_realm(t));
        customers.next().map(|t| t.id).ok_or_else(|| {
            DirectoryError::Invalid(
                "the database has no tenant yet: run `scimd serve` once to initialise it".into(),
            )
        })
    }

    /// Resolves a bearer secret to a caller, or says why it is not accepted (RFC 6750 §3.1
    /// `invalid_token`). The secret's prefix picks the credential kind ([`CredentialKind`]):
    /// an access token of an OAuth client (the `clients` module), else a static token (with or
    /// without the [`STATIC_PREFIX`] new secrets carry). A static token is refused when
    /// revoked or at or after its expiry. Its last use is written at most once every
    /// [`LAST_USED_GRANULARITY_SECS`] (best effort).
    ///
    /// Errors: the store's.
    pub async fn authenticate(&self, secret: &str) -> Result<Verdict, DirectoryError> {
        match CredentialKind::of(secret) {
            CredentialKind::AccessToken => return self.authenticate_access_token(secret).await,
            CredentialKind::Static | CredentialKind::Legacy => {}
        }
        let hash = hash_secret(secret);
        let cache = &self.caches().tokens;
        let row = cache
            .get_or_load(hash.clone(), || async {
                let mut tx = self.store().read().await?;
                Ok::<_, DirectoryError>(tx.token_by_hash(&hash).await?)
            })
            .await?;
        let Some(row) = row.filter(|r| bool::from(r.secret_sha256.ct_eq(&hash))) else {
            return Ok(Err(Rejected::unknown(CredentialKind::of(secret))));
        };
        let now = crate::render::now();
        let expired = row.expires.is_some_and(|e| now >= e);
        if let Some(reason) = Rejection::of_known(row.revoked.is_some(), expired) {
            let credential = format!("token '{}'", row.name);
            return Ok(Err(Rejected::of(reason, &row.tenant_id, credential)));
        }
        let stale = row
            .last_used
            .map(|t| (now - t).whole_seconds() >= LAST_USED_GRANULARITY_SECS)
            .unwrap_or(true);
        if stale {
            // Best effort: a failure to record last use must not refuse the request.
            if let Ok(mut tx) = self.store().write().await {
                if tx
                    .touch_credential(&row.tenant_id, CredentialKey::TokenId(&row.id), now)
                    .await
                    .is_ok()
                    && tx.commit().await.is_ok()
                {
                    cache.update(&hash, |r| r.last_used = Some(now));
                }
            }
        }
        Ok(Ok(Caller {
            tenant_id: row.tenant_id,
            token_id: row.id,
            token_name: row.name,
            scope: row.scope,
            actor: crate::store::ActorType::Token,
            request: RequestInfo::default(),
        }))
    }

    /// Creates a token and returns its secret (shown once, [`STATIC_PREFIX`] and 64 hex
    /// characters) and its row. `lifetime`: it expires that long after now (`None`: never).
    /// Recorded under `by` (audit action `token.create`, with its scope and expiry; never
    /// the secret or its hash). Errors when a non-revoked token of the tenant already has
    /// the name, the name is blank or longer than 100 characters, or the lifetime is not
    /// positive or longer than [`MAX_TOKEN_LIFETIME_DAYS`].
    pub async fn create_token(
        &self,
        by: &Origin,
        name: &str,
        scope: TokenScope,
        lifetime: Option<time::Duration>,
    ) -> Result<(String, TokenRow), DirectoryError> {
        let mut tx = self.store().write().await?;
        let made = insert_new_token(tx.as_mut(), by, name, scope, lifetime).await?;
        tx.commit().await?;
        Ok(made)
    }

    /// A tenant's tokens (revoked included), oldest first. Secrets are not part of them.
    pub async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenRow>, DirectoryError> {
        let mut tx = self.store().read().await?;
        Ok(tx.list_tokens(tenant_id).await?)
    }

    /// Revokes the token named `name`, recorded under `by` (audit action `token.revoke`);
    /// false when no such non-revoked token exists.
    pub async fn revoke_token(&self, by: &Origin, name: &str) -> Result<bool, DirectoryError> {
        let tenant_id = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let live = tx
            .list_tokens(tenant_id)
            .await?
            .into_iter()
            .find(|t| t.name == name && t.revoked.is_none());
        let Some(token) = live else {
            return Ok(false);
        };
        let done = tx
            .revoke_credential(
                tenant_id,
                CredentialKey::TokenName(name),
                crate::render::now(),
            )
            .await?;
        if done {
            let recorder = Recorder::new(by);
            tx.insert_record(&token_record(&recorder, AuditAction::TokenRevoke, &token))
                .await?;
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// [`Directory::create_token`] in `tx` (the caller commits): checks, the row and its audit
/// record. Errors: as `create_token`'s.
pub(crate) async fn insert_new_token(
    tx: &mut dyn crate::store::Tx,
    by: &Origin,
    name: &str,
    scope: TokenScope,
    lifetime: Option<time::Duration>,
) -> Result<(String, TokenRow), DirectoryError> {
    if let Some(l) = lifetime {
        if l <= time::Duration::ZERO || l > time::Duration::days(MAX_TOKEN_LIFETIME_DAYS) {
            return Err(DirectoryError::Invalid(format!(
                "a token's lifetime must be more than 0 and at most {MAX_TOKEN_LIFETIME_DAYS} days"
            )));
        }
    }
    let tenant_id = by.tenant_id.as_str();
    let name = credential_name("token", name)?;
    let secret = format!("{STATIC_PREFIX}{}", new_secret());
    // Operator tokens live in the operator realm, and only they do.
    let realm = tx
        .get_tenant(tenant_id)
        .await?
        .is_some_and(|t| is_realm(&t));
    if realm != (scope == TokenScope::Operator) {
        return Err(DirectoryError::Invalid(format!(
            "a token of scope {} cannot be made here: operator tokens belong to no tenant (scimd token create --scope operator, without --tenant), and a tenant's tokens have scope scim or admin",
            scope.as_str()
        )));
    }
    let now = crate::render::now();
    let token = TokenRow {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant_id.to_string(),
        name: name.to_string(),
        scope,
        secret_sha256: hash_secret(&secret),
        created: now,
        last_used: None,
        revoked: None,
        expires: lifetime.map(|l| now + l),
    };
    let res = tx.insert_token(&token).await;
    on_conflict(res, ConflictTarget::TokenName, || name_taken("token", name))?;
    let r = token_record(&Recorder::new(by), AuditAction::TokenCreate, &token);
    tx.insert_record(&r).await?;
    Ok((secret, token))
}

/// Whether the database has a (customer) tenant: first start has run. The operator
/// realm does not count.
async fn has_tenant(tx: &mut dyn crate::store::Tx) -> Result<bool, crate::StoreError> {
    Ok(tx.list_tenants().await?.iter().any(|t| !is_realm(t)))
}

/// The name of a new token or OAuth client (`what`), trimmed. Errors: `Invalid` for a
/// blank name, one longer than 100 characters or with control characters (no name needs
/// them, and PostgreSQL cannot store NUL: it would surface as a storage error).
pub(crate) fn credential_name<'n>(what: &str, name: &'n str) -> Result<&'n str, DirectoryError> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err(DirectoryError::Invalid(format!(
            "a {what} name cannot contain control characters"
        )));
    }
    if name.is_empty() {
        return Err(DirectoryError::Invalid(format!(
            "a {what} name must not be empty or blank"
        )));
    }
    let n = name.chars().count();
    if n > 100 {
        return Err(DirectoryError::Invalid(format!(
            "a {what} name must be 1 to 100 characters; this one has {n}"
        )));
    }
    Ok(name)
}

/// `Conflict`: a non-revoked token or OAuth client (`what`) of the tenant is named `name`.
pub(crate) fn name_taken(what: &str, name: &str) -> DirectoryError {
    DirectoryError::Conflict(format!(
        "a {what} named '{name}' already exists; revoke it first or choose another name"
    ))
}

/// The audit record of `action` on `token`: its id and name, its scope (created) or the
/// revocation; never its secret or hash.
pub(crate) fn token_record(
    recorder: &Recorder<'_>,
    action: AuditAction,
    token: &TokenRow,
) -> ChangeRecord {
    let (id, name) = (Some(token.id.as_str()), Some(token.name.as_str()));
    let mut r = recorder.action(action, target::TOKEN, id, name, SUCCEEDED);
    let scope = Value::String(token.scope.as_str().to_string());
    r.changes = match action {
        AuditAction::TokenRevoke => vec![Change::new(
            "revoked",
            Some(Value::Bool(false)),
            Some(Value::Bool(true)),
        )],
        _ => {
            let mut c = vec![Change::new("scope", None, Some(scope))];
            if let Some(e) = token.expires {
                let e = Value::String(crate::render::rfc3339(e));
                c.push(Change::new("expires", None, Some(e)));
            }
            c
        }
    };
    r
}
