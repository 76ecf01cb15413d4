//! Copying a whole deployment from one store to another (`scimd copy`), in either direction
//! between SQLite and PostgreSQL, through the `Tx` export / import calls only.
//!
//! Rows are written with the target's ordinary insert calls (`insert_user`,
//! `edit_members` ...), in the source's insertion order, so every listing keeps its order;
//! ids, versions, timestamps, hashes and documents are the source's.
//!
//! The source is read in one read transaction (one snapshot, so a copy of a running
//! deployment is consistent, although writes made after it starts are not copied); the
//! target is written in one write transaction, committed only after the row counts of every
//! table matched the source's — a failed copy leaves the target as it was.

use scimd_directory::store::{
    ExportRow, Exported, MemberEdit, MemberKind, Store, StoreError, Table, Tx,
};

/// Rows read and written per call.
const PAGE: u64 = 1000;

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target already holds rows (a copy only goes into an empty database).
    #[error("the target database is not empty ({}); copy into a new, empty database", describe(.0))]
    TargetNotEmpty(Vec<(Table, u64)>),
    /// After copying, a table's row count in the target differs from the source's (nothing
    /// was committed).
    #[error("row counts differ after copying, nothing was committed: {}", mismatches(.0))]
    CountMismatch(Vec<TableCount>),
    /// Memberships of a group were in the target already (nothing was committed).
    #[error("already exists: membership of group {group_id} ({existing} of {total} rows existed)")]
    MembershipsExist {
        /// The group.
        group_id: String,
        /// Memberships of the batch the target held already.
        existing: u64,
        /// Memberships in the batch.
        total: u64,
    },
    /// `scimd copy --tenant`: the source has no tenant with the slug.
    #[error(
        "the source database has no tenant with the slug '{0}' (scimd tenant list lists them)"
    )]
    NoSuchTenant(String),
    /// `scimd copy --tenant`: the target has a tenant with the slug or the id already
    /// (nothing was committed).
    #[error("the target database has a tenant with the slug '{0}' (or its id) already; nothing was copied")]
    TenantExists(String),
    /// A store call failed (nothing was committed).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Row counts of one table in the source and in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableCount {
    /// The table.
    pub table: Table,
    /// Rows in the source.
    pub source: u64,
    /// Rows in the target after the copy.
    pub target: u64,
}

fn describe(counts: &[(Table, u64)]) -> String {
    counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{n} {}", t.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mismatches(counts: &[TableCount]) -> String {
    counts
        .iter()
        .filter(|c| c.source != c.target)
        .map(|c| {
            format!(
                "{}: {} in the source, {} copied",
                c.table.name(),
                c.source,
                c.target
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Copies every row of every table of [`Table::COPIED`] (tenants, tokens, OAuth clients, issuers, custom
/// attributes, administrators, users with their emails, groups, memberships, change
/// records) from `from` to `to`, keeping ids, insertion order (so listing order), versions,
/// timestamps, token and password hashes and documents as they are; then compares the row
/// count of every table of [`Table::ALL`] and commits only when all agree. `progress` is
/// called after each page with the table and the rows copied so far.
///
/// Errors: [`CopyError::TargetNotEmpty`] when `to` holds any row (of any table),
/// [`CopyError::CountMismatch`], or a store error; in every case nothing is committed.
pub async fn copy_store(
    from: &dyn Store,
    to: &dyn Store,
    progress: impl FnMut(Table, u64),
) -> Result<Vec<TableCount>, CopyError> {
    let mut src = from.read().await?;
    let mut dst = to.write().await?;
    let existing = dst.table_counts(None).await?;
    if existing.iter().any(|(_, n)| *n > 0) {
        return Err(CopyError::TargetNotEmpty(existing));
    }
    let counts = copy_rows((src.as_mut(), dst.as_mut()), None, progress).await?;
    dst.commit().await?;
    Ok(counts)
}

/// Copies one tenant, the one whose slug is `slug`, with every row of it (the tables of
/// [`copy_store`]), from `from` into `to`, which may serve other tenants; then compares
/// the tenant's row count of every table and commits only when all agree. Ids, order,
/// hashes and documents are kept as in [`copy_store`].
///
/// Errors: [`CopyError::NoSuchTenant`], [`CopyError::TenantExists`] when `to` has a
/// tenant with the slug or the id, [`CopyError::CountMismatch`], or a store error (a
/// `Conflict` when a row of the tenant, a token's secret hash for one, exists in `to`
/// already); in every case nothing is committed.
pub async fn copy_tenant(
    from: &dyn Store,
    to: &dyn Store,
    slug: &str,
    progress: impl FnMut(Table, u64),
) -> Result<Vec<TableCount>, CopyError> {
    let mut src = from.read().await?;
    let tenant = src
        .tenant_by_slug(slug)
        .await?
        .ok_or_else(|| CopyError::NoSuchTenant(slug.to_string()))?;
    let mut dst = to.write().await?;
    if dst.tenant_by_slug(slug).await?.is_some() || dst.get_tenant(&tenant.id).await?.is_some() {
        return Err(CopyError::TenantExists(slug.to_string()));
    }
    let counts = copy_rows((src.as_mut(), dst.as_mut()), Some(&tenant.id), progress).await?;
    dst.commit().await?;
    Ok(counts)
}

/// Copies the rows of every table of [`Table::COPIED`] (of tenant `tenant` only, when
/// given) from `src` to `dst`, then compares the counts of every table of [`Table::ALL`].
async fn copy_rows(
    (src, dst): (&mut dyn Tx, &mut dyn Tx),
    tenant: Option<&str>,
    mut progress: impl FnMut(Table, u64),
) -> Result<Vec<TableCount>, CopyError> {
    for table in Table::COPIED {
        let (mut after, mut copied) = (i64::MIN, 0u64);
        loop {
            let page = src.export_rows((table, tenant), after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            import_rows(dst, &page).await?;
            copied += page.len() as u64;
            progress(table, copied);
        }
    }
    let (source, target) = (
        src.table_counts(tenant).await?,
        dst.table_counts(tenant).await?,
    );
    let counts: Vec<TableCount> = source
        .iter()
        .map(|(t, n)| TableCount {
            table: *t,
            source: *n,
            target: target.iter().find(|(u, _)| u == t).map_or(0, |(_, m)| *m),
        })
        .collect();
    if counts.iter().any(|c| c.source != c.target) {
        return Err(CopyError::CountMismatch(counts));
    }
    Ok(counts)
}

/// Inserts exported rows into `tx` with its ordinary insert calls, in order; consecutive
/// memberships of one group go in one `edit_members` call. Marks `tx` as a copy's import
/// ([`Tx::copying`]): the rows of a tenant being deleted are written too.
///
/// Errors: as the insert calls (`Conflict` when a row exists already), and
/// [`CopyError::MembershipsExist`] when a membership does.
pub async fn import_rows(tx: &mut dyn Tx, rows: &[Exported]) -> Result<(), CopyError> {
    // A tenant that was being deleted is copied as it is (its deletion resumes there).
    tx.copying();
    let mut i = 0;
    while i < rows.len() {
        match &rows[i].row {
            ExportRow::Tenant(t) => tx.insert_tenant(t).await?,
            ExportRow::Token(t) => tx.insert_token(t).await?,
            ExportRow::Issuer(i) => tx.insert_issuer(i).await?,
            ExportRow::Client(c) => tx.insert_client(c).await?,
            ExportRow::Attribute(a) => tx.insert_attribute(a).await?,
            ExportRow::Admin(a) => tx.insert_admin(a).await?,
            ExportRow::User(u) => tx.insert_user(u).await?,
            ExportRow::Group(g) => tx.insert_group(g).await?,
            ExportRow::Record(r) => {
                tx.insert_record(r).await?;
            }
            ExportRow::Member(m) => {
                let mut batch: Vec<(String, MemberKind)> = Vec::new();
                while let Some(ExportRow::Member(n)) = rows.get(i).map(|e| &e.row) {
                    if n.group_id != m.group_id || n.tenant_id != m.tenant_id {
                        break;
                    }
                    batch.push((n.member_id.clone(), n.kind));
                    i += 1;
                }
                let add = MemberEdit::Add(&batch);
                let added = tx.edit_members(&m.tenant_id, &m.group_id, add).await?;
                let added = added.len() as u64;
                if added != batch.len() as u64 {
                    return Err(CopyError::MembershipsExist {
                        group_id: m.group_id.clone(),
                        existing: batch.len() as u64 - added,
                        total: batch.len() as u64,
                    });
                }
                continue;
            }
        }
        i += 1;
    }
    Ok(())
}
