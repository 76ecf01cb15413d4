//! Operators (issue 15): who runs the deployment and acts on its tenants, above each
//! tenant's administrators.
//!
//! An operator token (scope [`TokenScope::Operator`], `scimd token create --scope operator`)
//! calls the operator API, `/api/v1/tenants` at the root; it belongs to no customer tenant
//! and is refused (401) on every tenant's paths.
//!
//! Operator tokens and the audit record of operator actions are kept in the *operator
//! realm*: the `tenants` row of the reserved slug [`OPERATOR_SLUG`], created on first use.
//! No customer tenant can have that slug ([`crate::tenants::RESERVED_SLUGS`]) or the realm's
//! name ([`OPERATOR_REALM_NAME`] starts with a space; tenant names are trimmed), and the
//! realm is never listed, served on `/t/`, disabled, deleted or taken as the root tenant:
//! [`Directory::resolve_tenant`], [`Directory::tenants`] and the tenant commands do not see
//! it. Keeping it a row of `tenants` lets operator tokens share the tokens' hashing, expiry,
//! revocation, last use, rate limits and refusal counts, and operator actions the audit
//! record and its retention.
//!
//! Each operator action on a tenant (`tenant.create`, `tenant.disable`, `tenant.enable`,
//! `tenant.delete`) is recorded twice, in the same transaction: in the realm's audit record
//! (kept when the tenant is deleted) and in the tenant's own (its administrators see it).

use crate::changes::{target, AuditAction, Recorder, SUCCEEDED};
use crate::directory::{Directory, DirectoryError, Origin};
use crate::settings::TenantSettings;
use crate::store::{StoreError, TenantRow, TokenRow, TokenScope, Tx};

/// The slug of the operator realm (reserved: no tenant can have it).
pub const OPERATOR_SLUG: &str = "operator";

/// The name of the operator realm's row: no tenant can have it, for tenant names are
/// trimmed.
pub const OPERATOR_REALM_NAME: &str = " operators";

/// Whether `t` is the operator realm.
pub fn is_realm(t: &TenantRow) -> bool {
    t.slug == OPERATOR_SLUG
}

/// The operator realm, created in `tx` when it does not exist yet.
///
/// Errors: the store's (a realm another process created at the same time is found again).
pub(crate) async fn ensure_realm(tx: &mut dyn Tx) -> Result<TenantRow, DirectoryError> {
    if let Some(t) = tx.tenant_by_slug(OPERATOR_SLUG).await? {
        return Ok(t);
    }
    let settings = TenantSettings::default().to_json();
    let realm = TenantRow::new(
        OPERATOR_REALM_NAME,
        OPERATOR_SLUG,
        settings,
        crate::render::now(),
    );
    match tx.insert_tenant(&realm).await {
        Ok(()) => Ok(realm),
        Err(StoreError::Conflict(_)) => tx
            .tenant_by_slug(OPERATOR_SLUG)
            .await?
            .ok_or_else(|| DirectoryError::Invalid("the operator realm could not be made".into())),
        Err(e) => Err(e.into()),
    }
}

/// Records operator action `action` on `tenant` in the realm's audit record, under the
/// origin `by` gives for the realm (`changes`: what changed, e.g. its state).
pub(crate) async fn record_in_realm(
    tx: &mut dyn Tx,
    by: crate::tenants::Operator<'_>,
    action: AuditAction,
    tenant: &TenantRow,
    changes: Vec<crate::store::Change>,
) -> Result<(), DirectoryError> {
    let realm = ensure_realm(tx).await?;
    let r = tenant_record(&by(&realm.id), action, tenant, changes);
    tx.insert_record(&r).await?;
    Ok(())
}

/// The audit record of `action` on `tenant` (target `Tenant`, its slug and name) by
/// `origin`, with `changes`.
pub(crate) fn tenant_record(
    origin: &crate::directory::Origin,
    action: AuditAction,
    tenant: &TenantRow,
    changes: Vec<crate::store::Change>,
) -> crate::store::ChangeRecord {
    let (slug, name) = (Some(tenant.slug.as_str()), Some(tenant.name.as_str()));
    let mut r = Recorder::new(origin).action(action, target::TENANT, slug, name, SUCCEEDED);
    r.changes = changes;
    r
}

/// Who acts on tenants when `origin` does: the same actor, channel and cause, on the tenant
/// of each id (what [`crate::tenants::Operator`] asks for). The operator API and the
/// operator portal act so.
pub fn acting_as(origin: &Origin) -> impl Fn(&str) -> Origin + Sync + '_ {
    move |t: &str| {
        let mut o = origin.clone();
        o.tenant_id = t.to_string();
        o
    }
}

impl Directory {
    /// The operator realm's row, `None` before the first operator token or operator
    /// action. Read through the tenants' cache ([`crate::cache`]).
    pub async fn operator_realm(&self) -> Result<Option<TenantRow>, DirectoryError> {
        self.lookup_slug(OPERATOR_SLUG).await
    }

    /// Creates an operator token named `name` (see [`Directory::create_token`] for the
    /// name, lifetime and secret rules), creating the operator realm first when needed, in
    /// the same transaction;
    /// recorded in the realm's audit record under the origin `by` gives for it. Returns
    /// the secret (shown once) and the row.
    pub async fn create_operator_token(
        &self,
        by: crate::tenants::Operator<'_>,
        name: &str,
        lifetime: Option<time::Duration>,
    ) -> Result<(String, TokenRow), DirectoryError> {
        let mut tx = self.store().write().await?;
        let realm = ensure_realm(tx.as_mut()).await?;
        let origin = by(&realm.id);
        let op = TokenScope::Operator;
        let made =
            crate::tokens::insert_new_token(tx.as_mut(), &origin, name, op, lifetime).await?;
        tx.commit().await?;
        Ok(made)
    }

    /// Creates the operator `username`: an administrator of the operator realm (made first,
    /// in the same transaction, when needed), who signs in to the operator portal
    /// (`/operator/`), with a new random password that must be changed at the first
    /// sign-in. Recorded in the realm's audit record (`administrator.create`) under the
    /// origin `by` gives for it. Returns the password (to show once).
    ///
    /// Errors: an invalid username, or one another operator has (ignoring case); `Busy`
    /// when the hashing queue is full.
    pub async fn create_operator(
        &self,
        by: crate::tenants::Operator<'_>,
        username: &str,
    ) -> Result<String, DirectoryError> {
        let username = username.trim();
        crate::admins::check_username(username).map_err(DirectoryError::Invalid)?;
        let password = crate::admins::new_password();
        let hash = self.hash(&password).await?;
        let mut tx = self.store().write().await?;
        let realm = ensure_realm(tx.as_mut()).await?;
        let origin = by(&realm.id);
        let made = crate::admins::insert_admin_in(tx.as_mut(), &origin, username, hash, true).await;
        if let Err(DirectoryError::Invalid(_)) = made {
            return Err(DirectoryError::Invalid(format!(
                "an operator named '{username}' already exists (names are compared ignoring case)"
            )));
        }
        made?;
        tx.commit().await?;
        Ok(password)
    }

    /// The operators (the operator realm's administrators), oldest first; none before the
    /// realm exists. The rows hold the password hashes: show none of them.
    pub async fn list_operators(&self) -> Result<Vec<crate::store::AdminRow>, DirectoryError> {
        match self.operator_realm().await? {
            Some(realm) => self.list_admins(&realm.id).await,
            None => Ok(Vec::new()),
        }
    }

    /// The operator tokens (revoked included), oldest first; none before the realm exists.
    pub async fn list_operator_tokens(&self) -> Result<Vec<TokenRow>, DirectoryError> {
        match self.operator_realm().await? {
            Some(realm) => self.list_tokens(&realm.id).await,
            None => Ok(Vec::new()),
        }
    }

    /// Runs `op`, an operation on the administrator `username` of `op`'s origin's tenant
    /// ([`Directory::reset_admin_password`], [`Directory::unlock_admin`],
    /// [`Directory::remove_admin`]), on the operator
    /// `username`: with `by`'s origin in the operator realm, so it is recorded in the
    /// realm's audit record. Errors: `op`'s, but `Invalid` (the only one those operations
    /// answer: no such administrator) says there is no such operator, and how to make one.
    pub async fn on_operator<T>(
        &self,
        by: crate::tenants::Operator<'_>,
        username: &str,
        op: impl AsyncFnOnce(&Origin) -> Result<T, DirectoryError>,
    ) -> Result<T, DirectoryError> {
        let no_such = || {
            let username = username.trim();
            DirectoryError::Invalid(format!(
                "there is no operator named '{username}' (`scimd operator list` lists them; `scimd operator create {username}` makes one)"
            ))
        };
        let Some(realm) = self.operator_realm().await? else {
            return Err(no_such());
        };
        match op(&by(&realm.id)).await {
            Err(DirectoryError::Invalid(_)) => Err(no_such()),
            done => done,
        }
    }

    /// Revokes the operator token `name` (audit action `token.revoke` in the realm); false
    /// when no such non-revoked token exists.
    pub async fn revoke_operator_token(
        &self,
        by: crate::tenants::Operator<'_>,
        name: &str,
    ) -> Result<bool, DirectoryError> {
        match self.operator_realm().await? {
            Some(realm) => self.revoke_token(&by(&realm.id), name).await,
            None => Ok(false),
        }
    }
}
