//! Tenants: the organisations one scimd serves, each with its own users, groups, settings,
//! credentials, administrators and change records (issue 15).
//!
//! A tenant has a unique `name` and a unique `slug`, its path segment: its SCIM base is
//! `/t/SLUG/scim/v2`, its admin API `/t/SLUG/api/v1`, its token endpoint `/t/SLUG/oauth/token`.
//! The root paths (`/scim/v2`, `/api/v1`, `/oauth/token`, the portal at `/`) serve the *root
//! tenant*: the one `--root-tenant SLUG` names, by default the tenant first start created
//! (slug `default`). A tenant is `active`, `disabled` (its paths answer 403; nothing is lost)
//! or `deleting`.
//!
//! Operators act on tenants from the command line and the operator API; what they do is
//! recorded in the audit record of the tenant concerned (`tenant.create`, `tenant.disable`,
//! `tenant.enable`) and in the operator realm's ([`crate::operators`]; `tenant.delete` there
//! only, for the tenant's own goes with it).

use crate::admins::{new_admin_row, new_password, BOOTSTRAP_ADMIN};
use crate::changes::{target, AuditAction, Recorder, SUCCEEDED};
use crate::directory::{Bootstrap, Directory, DirectoryError, Origin};
use crate::operators::{is_realm, record_in_realm, tenant_record};
use crate::secret::{hash_secret, new_secret};
use crate::settings::TenantSettings;
use crate::store::{
    ConflictTarget, GroupRecord, Source, StoreError, TenantRow, TenantState, TokenRow, TokenScope,
    Tx,
};
use crate::tokens::{token_record, BOOTSTRAP_TOKEN_NAME, STATIC_PREFIX};

/// The slug first start gives the tenant it creates (named `default` too).
pub const FIRST_SLUG: &str = "default";

/// Slugs no tenant may have: the first segments of scimd's own paths.
pub const RESERVED_SLUGS: [&str; 7] = [
    "t",
    "api",
    "scim",
    "oauth",
    "operator",
    "assets",
    "well-known",
];

/// Longest slug, in bytes (one DNS label).
pub const MAX_SLUG_LEN: usize = 63;

/// Longest tenant name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 200;

/// Checks a slug: `^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$` and not one of
/// [`RESERVED_SLUGS`]. Errors: a message that says which rule it breaks.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if slug.is_empty() || slug.len() > MAX_SLUG_LEN {
        return Err(format!(
            "a slug is 1 to {MAX_SLUG_LEN} characters; '{slug}' has {}",
            slug.chars().count()
        ));
    }
    if !slug.chars().all(ok_char) || slug.starts_with('-') || slug.ends_with('-') {
        return Err(format!(
            "the slug '{slug}' may hold only lowercase letters a-z, digits and '-', and may not start or end with '-'"
        ));
    }
    if RESERVED_SLUGS.contains(&slug) {
        return Err(format!(
            "the slug '{slug}' is reserved (reserved: {}); choose another (--slug on the command line, \"slug\" in the operator API)",
            RESERVED_SLUGS.join(", ")
        ));
    }
    Ok(())
}

/// The slug derived from a tenant name: lowercased, every run of other characters than
/// a-z and 0-9 made one `-`, leading and trailing `-` dropped, cut to [`MAX_SLUG_LEN`].
/// Errors: when nothing is left, or the result is reserved ([`check_slug`]).
pub fn slug_from_name(name: &str) -> Result<String, String> {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(MAX_SLUG_LEN);
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        return Err(format!(
            "no slug can be derived from the name '{name}' (it has no letters a-z or digits): give one with --slug"
        ));
    }
    check_slug(&slug)?;
    Ok(slug)
}

/// Most tenants whose `last_scim_request` one process remembers writing; beyond, it starts
/// again (so memory does not grow with the number of tenants).
pub const TENANT_CACHE_ENTRIES: usize = 4096;

/// How often at most a tenant's `last_scim_request` is written by one process.
pub const LAST_SCIM_REQUEST_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// When this process last wrote each tenant's `last_scim_request` (at most
/// [`TENANT_CACHE_ENTRIES`] tenants; beyond, it starts again).
#[derive(Default)]
pub struct ScimRequestNotes {
    written: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// A tenant with its counts, as `scimd tenant list` and `show` print it.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSummary {
    /// The tenant.
    pub tenant: TenantRow,
    /// Its users in every state.
    pub users: u64,
    /// Its groups (the built-in All Users group not counted).
    pub groups: u64,
}

/// Who acts on tenants: the [`Origin`] of an action on the tenant with the given id (the
/// audit record goes to that tenant).
pub type Operator<'a> = &'a (dyn Fn(&str) -> Origin + Sync);

impl Directory {
    /// Creates a tenant named `name` (trimmed; 1 to [`MAX_NAME_LEN`] bytes) with slug `slug`
    /// (else [`slug_from_name`]): its settings (defaults), its built-in All Users group, a
    /// SCIM token named [`BOOTSTRAP_TOKEN_NAME`] and an administrator
    /// [`BOOTSTRAP_ADMIN`] with a random password to change at first sign-in, recorded in
    /// its audit record (`tenant.create`, `token.create`, `administrator.create`) under
    /// `by`. Returns the tenant and the secrets, to show once.
    ///
    /// Errors: 400 for a bad name or slug; 409 when another tenant has the name or the slug
    /// (a deleted tenant's slug stays taken); never a silent suffix.
    pub async fn create_tenant(
        &self,
        by: Operator<'_>,
        name: &str,
        slug: Option<&str>,
    ) -> Result<(TenantRow, Bootstrap), DirectoryError> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(DirectoryError::Invalid(format!(
                "a tenant name is 1 to {MAX_NAME_LEN} bytes, not blank"
            )));
        }
        let slug = match slug {
            Some(s) => {
                check_slug(s).map_err(DirectoryError::Invalid)?;
                s.to_string()
            }
            None => slug_from_name(name).map_err(DirectoryError::Invalid)?,
        };
        let admin_password = new_password();
        let admin_hash = self.hash(&admin_password).await?;
        let mut tx = self.store().write().await?;
        let (tenant, made) =
            new_tenant(tx.as_mut(), (name, &slug), by, (admin_password, admin_hash)).await?;
        record_in_realm(tx.as_mut(), by, AuditAction::TenantCreate, &tenant, vec![]).await?;
        tx.commit().await?;
        Ok((tenant, made))
    }

    /// Every tenant, oldest first, with its counts.
    pub async fn tenants(&self) -> Result<Vec<TenantSummary>, DirectoryError> {
        let mut tx = self.store().read().await?;
        let mut out = Vec::new();
        for tenant in tx
            .list_tenants()
            .await?
            .into_iter()
            .filter(|t| !is_realm(t))
        {
            out.push(summary(tx.as_mut(), tenant).await?);
        }
        Ok(out)
    }

    /// The tenant whose slug is `slug`, with its counts. Errors: 404 when there is none.
    pub async fn tenant(&self, slug: &str) -> Result<TenantSummary, DirectoryError> {
        let mut tx = self.store().read().await?;
        let tenant = by_slug(tx.as_mut(), slug).await?;
        summary(tx.as_mut(), tenant).await
    }

    /// Notes that a SCIM request authenticated for tenant `tenant_id`: writes its
    /// `last_scim_request` in the background, at most once per
    /// [`LAST_SCIM_REQUEST_EVERY`] per tenant (never a write per request). Returns at once;
    /// a failed write is logged and forgotten (it is bookkeeping).
    pub fn note_scim_request(&self, tenant_id: &str) {
        {
            let notes = self.scim_request_notes();
            let mut w = notes.written.lock().unwrap_or_else(|p| p.into_inner());
            if w.get(tenant_id)
                .is_some_and(|at| at.elapsed() < LAST_SCIM_REQUEST_EVERY)
            {
                return;
            }
            if w.len() >= TENANT_CACHE_ENTRIES {
                w.clear();
            }
            w.insert(tenant_id.to_string(), std::time::Instant::now());
        }
        let (dir, id) = (self.clone(), tenant_id.to_string());
        tokio::spawn(async move {
            let write = async {
                let mut tx = dir.store().write().await?;
                tx.touch_tenant(&id, crate::render::now()).await?;
                tx.commit().await
            };
            if let Err(e) = write.await {
                tracing::debug!(tenant = %id, error = %e, "last SCIM request not recorded");
            }
        });
    }

    /// The tenant whose slug is `slug`, without counts: `None` when there is none (the
    /// operator realm is no tenant: `None` for its slug too). A request's path names its
    /// tenant; this is its per-request lookup, from memory on a running server
    /// ([`crate::cache`]: found or not, dropped when any process changes a tenant).
    pub async fn resolve_tenant(&self, slug: &str) -> Result<Option<TenantRow>, DirectoryError> {
        Ok(self.lookup_slug(slug).await?.filter(|t| !is_realm(t)))
    }

    /// The row of slug `slug`, the operator realm's included, through the cache.
    pub(crate) async fn lookup_slug(
        &self,
        slug: &str,
    ) -> Result<Option<TenantRow>, DirectoryError> {
        let found = self
            .caches()
            .tenants
            .get_or_load(slug.to_string(), || async {
                let mut tx = self.store().read().await?;
                Ok::<_, DirectoryError>(Some(tx.tenant_by_slug(slug).await?))
            })
            .await?;
        Ok(found.flatten())
    }

    /// Disables (`Disabled`) or enables (`Active`) the tenant `slug`, recorded in its audit
    /// record under `by` (`tenant.disable`, `tenant.enable`) when it changes. Returns the
    /// tenant after. Errors: 404 when there is none; 409 for a tenant being deleted.
    pub async fn set_tenant_state(
        &self,
        by: Operator<'_>,
        slug: &str,
        state: TenantState,
    ) -> Result<TenantRow, DirectoryError> {
        let mut tx = self.store().write().await?;
        let mut tenant = by_slug(tx.as_mut(), slug).await?;
        if tenant.state == TenantState::Deleting {
            return Err(DirectoryError::Conflict(format!(
                "the tenant '{slug}' is being deleted"
            )));
        }
        if tenant.state == state {
            return Ok(tenant);
        }
        let action = match state {
            TenantState::Active => AuditAction::TenantEnable,
            _ => AuditAction::TenantDisable,
        };
        let before = tenant.state;
        if !tx.set_tenant_state(&tenant.id, state).await? {
            // A deletion committed since the read above.
            return Err(DirectoryError::Conflict(format!(
                "the tenant '{slug}' is being deleted"
            )));
        }
        tenant.state = state;
        let change = crate::changes::property("state", before.as_str(), state.as_str());
        let r = tenant_record(&by(&tenant.id), action, &tenant, vec![change.clone()]);
        tx.insert_record(&r).await?;
        record_in_realm(tx.as_mut(), by, action, &tenant, vec![change]).await?;
        tx.commit().await?;
        Ok(tenant)
    }
}

/// Most rows one step of a tenant's deletion deletes (one transaction).
pub const PURGE_BATCH: u64 = 500;

impl Directory {
    /// Starts deleting the tenant `slug`: marks it `deleting` at once (no write of its rows is
    /// accepted from that commit on: [`crate::store::StoreError::TenantDeleting`]; its paths answer 404
    /// from then on, within a second on every server) and returns it; its rows
    /// are deleted by [`Directory::purge_tenant_step`]s. Marking a tenant that is being
    /// deleted already returns it (the deletion resumes). Recorded in the operator realm's
    /// audit record (`tenant.delete`; the tenant's own goes with it). `root`: the slug of
    /// the root tenant (`--root-tenant`), which cannot be deleted. Errors: 404 when there
    /// is none; 409 for the root tenant.
    pub async fn start_tenant_deletion(
        &self,
        by: Operator<'_>,
        slug: &str,
        root: Option<&str>,
    ) -> Result<TenantRow, DirectoryError> {
        if root == Some(slug) {
            return Err(DirectoryError::Conflict(format!(
                "'{slug}' is the root tenant (served on the root paths, --root-tenant): it cannot be deleted; configure another root tenant, or none, first"
            )));
        }
        let mut tx = self.store().write().await?;
        let mut tenant = by_slug(tx.as_mut(), slug).await?;
        if tenant.state != TenantState::Deleting {
            tx.set_tenant_state(&tenant.id, TenantState::Deleting)
                .await?;
            let before = tenant.state.as_str();
            tenant.state = TenantState::Deleting;
            let change = crate::changes::property("state", before, TenantState::Deleting.as_str());
            record_in_realm(
                tx.as_mut(),
                by,
                AuditAction::TenantDelete,
                &tenant,
                vec![change],
            )
            .await?;
            tx.commit().await?;
            let origin = by(&tenant.id);
            tracing::warn!(slug, actor = %origin.actor.name, "tenant deletion started");
        }
        Ok(tenant)
    }

    /// One step of the deletion of tenant `tenant_id` (which must be `deleting`): deletes
    /// up to [`PURGE_BATCH`] of its rows in a transaction of its own, so no other tenant
    /// waits long on the database's writer; how many (0: done: only its `tenants` row is
    /// left, keeping the slug reserved). Safe to repeat after a crash: a deletion resumes
    /// where it stopped. Errors: 409 for a tenant that is not being deleted.
    pub async fn purge_tenant_step(&self, tenant_id: &str) -> Result<u64, DirectoryError> {
        let mut tx = self.store().write().await?;
        match tx.get_tenant(tenant_id).await? {
            Some(t) if t.state == TenantState::Deleting => {}
            _ => {
                return Err(DirectoryError::Conflict(format!(
                    "tenant {tenant_id} is not being deleted"
                )))
            }
        }
        let n = tx.purge_tenant(tenant_id, PURGE_BATCH).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Finishes the deletions of every tenant marked `deleting` (after a crash, or a
    /// `scimd tenant delete` that was interrupted), step by step, yielding between steps;
    /// returns how many rows it deleted. `serve` runs it in the background at start.
    pub async fn resume_tenant_deletions(&self) -> Result<u64, DirectoryError> {
        let deleting: Vec<String> = {
            let mut tx = self.store().read().await?;
            tx.list_tenants()
                .await?
                .into_iter()
                .filter(|t| t.state == TenantState::Deleting)
                .map(|t| t.id)
                .collect()
        };
        let mut total = 0;
        for id in deleting {
            loop {
                let n = self.purge_tenant_step(&id).await?;
                if n == 0 {
                    break;
                }
                total += n;
                tokio::task::yield_now().await;
            }
        }
        Ok(total)
    }
}

/// The tenant whose slug is `slug`. Errors: 404 when there is none.
async fn by_slug(tx: &mut dyn Tx, slug: &str) -> Result<TenantRow, DirectoryError> {
    tx.tenant_by_slug(slug)
        .await?
        .filter(|t| !is_realm(t))
        .ok_or_else(|| no_tenant(slug))
}

/// 404: no tenant has the slug.
fn no_tenant(slug: &str) -> DirectoryError {
    DirectoryError::NotFound(format!(
        "no tenant has the slug '{slug}' (scimd tenant list lists them)"
    ))
}

async fn summary(tx: &mut dyn Tx, tenant: TenantRow) -> Result<TenantSummary, DirectoryError> {
    let users = tx
        .user_counts(&tenant.id)
        .await?
        .into_iter()
        .map(|(_, _, n)| n)
        .sum();
    let groups = tx.group_count(&tenant.id).await?;
    Ok(TenantSummary {
        tenant,
        users,
        groups,
    })
}

/// Inserts, in `tx`, the tenant `(name, slug)` with its settings, All Users group, first
/// SCIM token and first administrator (whose password and its hash are `admin`), and the
/// audit records of all three under `by`. Errors: 409 (`Conflict`) for a name or slug
/// another tenant has.
pub(crate) async fn new_tenant(
    tx: &mut dyn Tx,
    (name, slug): (&str, &str),
    by: Operator<'_>,
    (admin_password, admin_hash): (String, String),
) -> Result<(TenantRow, Bootstrap), DirectoryError> {
    let now = crate::render::now();
    let tenant = TenantRow::new(name, slug, TenantSettings::default().to_json(), now);
    match tx.insert_tenant(&tenant).await {
        Err(StoreError::Conflict(t)) => {
            let what = match t {
                ConflictTarget::TenantSlug => {
                    format!("the slug '{slug}' (slugs of deleted tenants stay taken)")
                }
                _ => format!("the name '{name}'"),
            };
            return Err(DirectoryError::Conflict(format!(
                "another tenant has {what}; choose another"
            )));
        }
        other => other?,
    }
    let all_users = serde_json::json!({ "displayName": crate::admin::ALL_USERS_GROUP });
    tx.insert_group(&GroupRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.id.clone(),
        display_name: crate::admin::ALL_USERS_GROUP.to_string(),
        external_id: None,
        source: Source::Local,
        builtin: true,
        version: 1,
        created: now,
        last_modified: now,
        doc_folded: serde_json::json!({ "displayName": scim_proto::filter::fold(crate::admin::ALL_USERS_GROUP) }),
        doc: all_users,
    })
    .await?;
    let secret = format!("{STATIC_PREFIX}{}", new_secret());
    let token = TokenRow {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.id.clone(),
        name: BOOTSTRAP_TOKEN_NAME.to_string(),
        scope: TokenScope::Scim,
        secret_sha256: hash_secret(&secret),
        created: now,
        last_used: None,
        revoked: None,
        expires: None,
    };
    tx.insert_token(&token).await?;
    let mut admin = new_admin_row(&tenant.id, BOOTSTRAP_ADMIN, admin_hash);
    admin.must_change_password = true;
    tx.insert_admin(&admin).await?;
    let origin = by(&tenant.id);
    let recorder = Recorder::new(&origin);
    let r = tenant_record(&origin, AuditAction::TenantCreate, &tenant, vec![]);
    tx.insert_record(&r).await?;
    tx.insert_record(&token_record(&recorder, AuditAction::TokenCreate, &token))
        .await?;
    let (id, aname) = (Some(admin.id.as_str()), Some(admin.username.as_str()));
    let action = AuditAction::AdministratorCreate;
    let r = recorder.action(action, target::ADMINISTRATOR, id, aname, SUCCEEDED);
    tx.insert_record(&r).await?;
    let made = Bootstrap {
        tenant_id: tenant.id.clone(),
        scim_token: secret,
        admin_username: admin.username,
        admin_password,
    };
    Ok((tenant, made))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked() {
        for ok in ["a", "acme", "acme-corp", "a1", "0", &"x".repeat(63)] {
            assert_eq!(check_slug(ok), Ok(()), "{ok}");
        }
        for bad in ["", "-a", "a-", "Acme", "a_b", "a.b", "é", &"x".repeat(64)] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
        for reserved in RESERVED_SLUGS {
            let e = check_slug(reserved).unwrap_err();
            assert!(e.contains("reserved"), "{e}");
        }
    }

    #[test]
    fn slugs_are_derived_from_names() {
        assert_eq!(slug_from_name("Acme Corp").unwrap(), "acme-corp");
        assert_eq!(
            slug_from_name("  Müller & Söhne GmbH ").unwrap(),
            "m-ller-s-hne-gmbh"
        );
        assert_eq!(slug_from_name("--Contoso--").unwrap(), "contoso");
        assert_eq!(slug_from_name("R2D2").unwrap(), "r2d2");
        assert!(slug_from_name("!!!").unwrap_err().contains("--slug"));
        assert!(slug_from_name("API").unwrap_err().contains("reserved"));
        let long = slug_from_name(&format!("{} tail", "a".repeat(62))).unwrap();
        assert_eq!(
            long,
            "a".repeat(62),
            "cut to 63 then the trailing '-' dropped"
        );
        check_slug(&long).unwrap();
    }
}
