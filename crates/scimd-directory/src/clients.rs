//! OAuth 2.0 clients of the client credentials grant (RFC 6749 §4.4) and the access tokens
//! the token endpoint issues them (issue 16).
//!
//! A client is a client_id ([`CLIENT_ID_PREFIX`] and 32 hex characters, public) and a secret
//! (256 random bits, [`CLIENT_SECRET_PREFIX`] and 64 hex characters, shown once). Only the
//! secret's SHA-256 is stored, and it is compared in constant time (`subtle`): the token
//! endpoint is reachable without a credential, so it does no slow hashing (never Argon2).
//!
//! Access tokens are opaque secrets ([`ACCESS_TOKEN_PREFIX`] and 64 hex characters) kept as
//! their SHA-256 in the database every instance shares, so a token issued by one instance
//! is accepted by all, and each use looks up the token *and its client* in one read
//! transaction: a revoked client's unexpired tokens are refused on every instance from the
//! commit of the revocation on, with no cache to wait for. A client keeps at most
//! [`MAX_LIVE_ACCESS_TOKENS`] tokens (expired ones and the oldest beyond are deleted when it
//! is issued a new one), so a client asking for tokens in a loop cannot fill the database.

use crate::changes::{commit_recorded, target, AuditAction, Recorder, SUCCEEDED};
use crate::directory::{Caller, Directory, DirectoryError, Origin, RequestInfo};
use crate::error::on_conflict;
use crate::secret::{hash_secret, new_secret};
use crate::store::{
    AccessTokenRow, ActorType, Change, ChangeRecord, ClientRow, ConflictTarget, CredentialKey, Tx,
};
use crate::tokens::{
    credential_name, name_taken, CredentialKind, Rejected, Rejection, Verdict,
    LAST_USED_GRANULARITY_SECS,
};
use serde_json::Value;
use subtle::ConstantTimeEq;
use time::Duration;

/// Prefix of a client_id.
pub const CLIENT_ID_PREFIX: &str = "scimd_client_";
/// Prefix of a client secret.
pub const CLIENT_SECRET_PREFIX: &str = "scimd_cs_";
pub use crate::tokens::ACCESS_TOKEN_PREFIX;
/// Most unexpired access tokens one client holds; issuing another deletes the oldest.
pub const MAX_LIVE_ACCESS_TOKENS: u64 = 100;
/// Longest client_id or client secret looked at; longer ones are refused unread.
pub const MAX_CLIENT_FIELD_LEN: usize = 256;

/// A client just created: its row and its secret (shown once).
#[derive(Debug, Clone)]
pub struct NewClient {
    /// The client (its `id` is the client_id).
    pub row: ClientRow,
    /// The secret, shown once.
    pub secret: String,
}

/// An access token just issued (RFC 6749 §5.1).
#[derive(Debug, Clone)]
pub struct Issued {
    /// The access token (shown once).
    pub access_token: String,
    /// Its lifetime in seconds (`expires_in`).
    pub expires_in: i64,
}

impl Directory {
    /// Creates an OAuth client named `name` and returns it with its secret (shown once).
    /// Recorded under `by` (audit action `client.create`; never the secret or its hash).
    ///
    /// Errors: `Invalid` for a blank name, one longer than 100 characters or with control
    /// characters; `Conflict` when a non-revoked client of the tenant has the name.
    pub async fn create_client(
        &self,
        by: &Origin,
        name: &str,
    ) -> Result<NewClient, DirectoryError> {
        let name = credential_name("client", name)?;
        let secret = format!("{CLIENT_SECRET_PREFIX}{}", new_secret());
        let id = format!("{CLIENT_ID_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let row = ClientRow {
            id,
            tenant_id: by.tenant_id.clone(),
            name: name.to_string(),
            secret_sha256: hash_secret(&secret),
            created: crate::render::now(),
            last_used: None,
            revoked: None,
        };
        let mut tx = self.store().write().await?;
        let res = tx.insert_client(&row).await;
        on_conflict(res, ConflictTarget::ClientName, || {
            name_taken("client", name)
        })?;
        let r = client_record(&Recorder::new(by), AuditAction::ClientCreate, &row);
        commit_recorded(tx, &r).await?;
        Ok(NewClient { row, secret })
    }

    /// A tenant's clients (revoked included), oldest first. Secrets are not part of them.
    pub async fn list_clients(&self, tenant_id: &str) -> Result<Vec<ClientRow>, DirectoryError> {
        let mut tx = self.store().read().await?;
        Ok(tx.list_clients(tenant_id).await?)
    }

    /// Revokes the client `client_id`, recorded under `by` (audit action `client.revoke`):
    /// it gets no more tokens and the ones it holds are refused from the commit on. False
    /// when the tenant has no such non-revoked client.
    pub async fn revoke_client(
        &self,
        by: &Origin,
        client_id: &str,
    ) -> Result<bool, DirectoryError> {
        let tenant_id = by.tenant_id.as_str();
        let mut tx = self.store().write().await?;
        let Some(row) = tx.get_client(tenant_id, client_id).await? else {
            return Ok(false);
        };
        if !tx
            .revoke_credential(
                tenant_id,
                CredentialKey::Client(client_id),
                crate::render::now(),
            )
            .await?
        {
            return Ok(false);
        }
        let r = client_record(&Recorder::new(by), AuditAction::ClientRevoke, &row);
        commit_recorded(tx, &r).await?;
        Ok(true)
    }

    /// Whether `client_secret` is the secret of the non-revoked client `client_id` of tenant
    /// `tenant_id`, checked as [`Directory::issue_access_token`] checks it (SHA-256, compared
    /// in constant time) but read-only and issuing nothing: for the per-address rate limit,
    /// which lets a token request over its address's budget run only for a genuine client.
    ///
    /// Errors: the store's.
    pub async fn is_genuine_client(
        &self,
        tenant_id: &str,
        credentials: (&str, &str),
    ) -> Result<bool, DirectoryError> {
        let mut tx = self.store().read().await?;
        Ok(authentic_client(tx.as_mut(), tenant_id, credentials)
            .await?
            .is_some())
    }

    /// The token endpoint's work (RFC 6749 §4.4.2, §4.4.3): authenticates the client
    /// `client_id` of tenant `tenant_id` by `client_secret` and issues it an access token
    /// valid for `ttl`. `Ok(None)` when the client is unknown, revoked, or the secret does not
    /// match (the endpoint answers `invalid_client` without saying which).
    ///
    /// Errors: the store's.
    pub async fn issue_access_token(
        &self,
        tenant_id: &str,
        (client_id, client_secret): (&str, &str),
        ttl: Duration,
    ) -> Result<Option<Issued>, DirectoryError> {
        let mut tx = self.store().write().await?;
        let Some(client) =
            authentic_client(tx.as_mut(), tenant_id, (client_id, client_secret)).await?
        else {
            return Ok(None);
        };
        let now = crate::render::now();
        let secret = format!("{ACCESS_TOKEN_PREFIX}{}", new_secret());
        tx.prune_access_tokens(tenant_id, client_id, now, MAX_LIVE_ACCESS_TOKENS - 1)
            .await?;
        tx.insert_access_token(&AccessTokenRow {
            tenant_id: tenant_id.to_string(),
            client_id: client.id.clone(),
            secret_sha256: hash_secret(&secret),
            created: now,
            expires: now + ttl,
        })
        .await?;
        let stale = client
            .last_used
            .is_none_or(|t| (now - t).whole_seconds() >= LAST_USED_GRANULARITY_SECS);
        if stale {
            tx.touch_credential(tenant_id, CredentialKey::Client(client_id), now)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(Issued {
            access_token: secret,
            expires_in: ttl.whole_seconds(),
        }))
    }

    /// Authenticates an access token (see [`Directory::authenticate`]): its row and its
    /// client, read in one transaction on every call. Refused when unknown, expired, or its
    /// client is revoked or gone.
    pub(crate) async fn authenticate_access_token(
        &self,
        secret: &str,
    ) -> Result<Verdict, DirectoryError> {
        let hash = hash_secret(secret);
        let cache = &self.caches().access_tokens;
        let found = cache
            .get_or_load(hash.clone(), || async {
                let mut tx = self.store().read().await?;
                let Some(t) = tx.access_token_by_hash(&hash).await? else {
                    return Ok::<_, DirectoryError>(None);
                };
                Ok(tx
                    .get_client(&t.tenant_id, &t.client_id)
                    .await?
                    .map(|c| (t, c)))
            })
            .await?;
        let Some((token, client)) = found.filter(|(t, _)| bool::from(t.secret_sha256.ct_eq(&hash)))
        else {
            return Ok(Err(Rejected::unknown(CredentialKind::AccessToken)));
        };
        let expired = crate::render::now() >= token.expires;
        if let Some(reason) = Rejection::of_known(client.revoked.is_some(), expired) {
            let credential = format!("client '{}'", client.name);
            return Ok(Err(Rejected::of(reason, &token.tenant_id, credential)));
        }
        Ok(Ok(Caller {
            tenant_id: client.tenant_id,
            token_id: client.id,
            token_name: client.name,
            scope: crate::store::TokenScope::Scim,
            actor: ActorType::Client,
            request: RequestInfo::default(),
        }))
    }
}

/// The audit record of `action` on `client`: its client_id and name, or the revocation;
/// never its secret or hash.
fn client_record(recorder: &Recorder<'_>, action: AuditAction, client: &ClientRow) -> ChangeRecord {
    let (id, name) = (Some(client.id.as_str()), Some(client.name.as_str()));
    let mut r = recorder.action(action, target::CLIENT, id, name, SUCCEEDED);
    r.changes = match action {
        AuditAction::ClientRevoke => vec![Change::new(
            "revoked",
            Some(Value::Bool(false)),
            Some(Value::Bool(true)),
        )],
        _ => vec![Change::new(
            "clientId",
            None,
            Some(Value::String(client.id.clone())),
        )],
    };
    r
}

/// The non-revoked client `client_id` of tenant `tenant_id` whose secret is `client_secret`
/// (its SHA-256 compared in constant time); `None` otherwise, and for an id or secret longer
/// than [`MAX_CLIENT_FIELD_LEN`] (not looked up). What both the token endpoint and the rate
/// limit's check of a client rely on.
async fn authentic_client(
    tx: &mut dyn Tx,
    tenant_id: &str,
    (client_id, client_secret): (&str, &str),
) -> Result<Option<ClientRow>, DirectoryError> {
    if client_id.len() > MAX_CLIENT_FIELD_LEN || client_secret.len() > MAX_CLIENT_FIELD_LEN {
        return Ok(None);
    }
    let presented = hash_secret(client_secret);
    Ok(tx
        .get_client(tenant_id, client_id)
        .await?
        .filter(|c| c.revoked.is_none() && bool::from(c.secret_sha256.ct_eq(&presented))))
}
