//! Migration steps the store runs in Rust right after its SQL migrations, for what SQL
//! cannot compute on either back end. A migration inserts the step's name into
//! `migration_steps`; [`run_migration_steps`] runs each step it finds in one write
//! transaction that also deletes its row, so a step runs exactly once even if the process
//! stops half-way (the transaction rolls back and the next start runs it again), and of
//! instances starting together on one PostgreSQL database only the first runs it (the
//! others wait for its row lock and find the row gone).
//!
//! `identifier_keys` (migration sqlite 0007, postgres 0006): recomputes the key columns of
//! users and groups ([`crate::keys`]: NFC, case-folded but for externalId). Two existing
//! rows of one tenant whose keys become equal (`josé` written once precomposed and once
//! with a combining accent) cannot both have the key: the row that already has it, else the
//! first inserted (lowest `seq`), gets it; the other keeps its previous key, which is still
//! unique, and is named in a warning of the log. A later write of that other user or group
//! answers 409 uniqueness until one of them is renamed or deleted; the migration never
//! fails on such rows.

use super::run::StoreTx;
use crate::exec::Exec;
use crate::keys::{display_name_key, external_id_key, user_name_key};
use crate::rows::read_row;
use crate::sql::{Across, Bind, Row, Scope, Tbl};
use scimd_directory::store::{StoreError, StoreResult};

/// The step of migration sqlite 0007 / postgres 0006.
const IDENTIFIER_KEYS: &str = "identifier_keys";

/// Rows read per statement while recomputing keys.
const BATCH: u64 = 5_000;

/// Runs the pending migration steps, each in a write transaction of its own made by
/// `begin`, after a read transaction made by `read` found one pending (so that a database
/// with none, a read-only one included, is opened without a write). Errors: a database
/// error (the step's transaction rolls back; the step stays pending and runs at the next
/// start).
pub(crate) async fn run_migration_steps<R, E, RF, RFut, F, Fut>(
    read: RF,
    begin: F,
) -> StoreResult<()>
where
    R: Exec,
    E: Exec,
    RF: FnOnce() -> RFut,
    RFut: std::future::Future<Output = StoreResult<R>>,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = StoreResult<E>>,
{
    let mut check = StoreTx::new(read().await?);
    let mut pending = check.q().select(
        Scope::Tenants,
        "COUNT(*)",
        (Tbl::MigrationSteps, ""),
        [("name", Bind::text(IDENTIFIER_KEYS))],
    );
    if check.count(&mut pending).await? == 0 {
        return Ok(());
    }
    drop(check);
    let mut tx = StoreTx::new(begin().await?);
    let take = tx.q().delete(
        Scope::Tenants,
        Tbl::MigrationSteps,
        [("name", Bind::text(IDENTIFIER_KEYS))],
    );
    if tx.run(take).await? == 0 {
        return Ok(());
    }
    let users = rekey(&mut tx, &USERS).await?;
    let groups = rekey(&mut tx, &GROUPS).await?;
    tx.into_exec().commit().await?;
    tracing::info!(
        users,
        groups,
        "identifier keys recomputed (NFC): migration step {IDENTIFIER_KEYS} done"
    );
    Ok(())
}

/// What [`rekey`] recomputes in one table.
struct Keyed {
    table: Tbl,
    /// What its rows are, for messages.
    what: &'static str,
    /// The identifier's column (as stored), its key column and the key function.
    name: &'static str,
    key: &'static str,
    key_of: fn(&str) -> String,
}

const USERS: Keyed = Keyed {
    table: Tbl::Users,
    what: "user",
    name: "user_name",
    key: "user_name_folded",
    key_of: user_name_key,
};

const GROUPS: Keyed = Keyed {
    table: Tbl::Groups,
    what: "group",
    name: "display_name",
    key: "display_name_folded",
    key_of: display_name_key,
};

/// Recomputes the key columns of every row of `k.table` (every tenant's), in `seq` order;
/// returns how many rows changed.
async fn rekey<E: Exec>(tx: &mut StoreTx<E>, k: &Keyed) -> StoreResult<u64> {
    let cols = format!("seq, tenant_id, id, {}, {}, external_id", k.name, k.key);
    let mut after = 0i64;
    let mut changed = 0;
    loop {
        let mut s = tx.q().select(Across::Rekey, &cols, (k.table, ""), []);
        s.sql(" WHERE seq > ")
            .bind(Bind::Int(after))
            .sql(" ORDER BY seq");
        s.page(Some(BATCH), 0).long();
        let rows = tx.rows(s).await?;
        if rows.is_empty() {
            return Ok(changed);
        }
        for row in rows {
            let r = Stored::of(row, k)?;
            after = r.seq;
            changed += rekey_row(tx, k, &r).await?;
        }
    }
}

/// One row as stored: its identifier, key and externalId.
struct Stored {
    seq: i64,
    tenant: String,
    id: String,
    name: String,
    key: String,
    external_id: Option<String>,
}

impl Stored {
    fn of(mut row: Row, k: &Keyed) -> StoreResult<Stored> {
        Ok(read_row!(row => Stored {
            seq, tenant = "tenant_id", id, name: row.text(k.name)?, key: row.text(k.key)?,
            external_id
        }))
    }
}

/// Writes the keys of row `r` when they differ from the stored ones; 1 when it changed.
async fn rekey_row<E: Exec>(tx: &mut StoreTx<E>, k: &Keyed, r: &Stored) -> StoreResult<u64> {
    let key = (k.key_of)(r.name.as_str());
    let ext = r.external_id.as_deref().map(external_id_key);
    let mut set = Vec::new();
    let ext_changed = ext != r.external_id;
    if ext_changed {
        set.push(("external_id", Bind::opt_text(ext.as_deref())));
    }
    let mut key_changed = false;
    if key != r.key {
        let mut s = tx.q().update(
            Across::Rekey,
            k.table,
            [(k.key, Bind::text(&key))],
            [("seq", Bind::Int(r.seq))],
        );
        match tx.run(s.may_conflict()).await {
            Ok(_) => key_changed = true,
            Err(StoreError::Conflict(_)) => warn_collision(tx, k, r, &key).await?,
            Err(e) => return Err(e),
        }
    }
    if !set.is_empty() {
        let s = tx
            .q()
            .update(Across::Rekey, k.table, set, [("seq", Bind::Int(r.seq))]);
        tx.run(s).await?;
    }
    Ok(u64::from(key_changed || ext_changed))
}

/// Logs that row `r` keeps its previous key because another row of its tenant has `key`.
async fn warn_collision<E: Exec>(
    tx: &mut StoreTx<E>,
    k: &Keyed,
    r: &Stored,
    key: &str,
) -> StoreResult<()> {
    let t = r.tenant.as_str();
    let s = tx
        .q()
        .select(t, "id", (k.table, ""), [(k.key, Bind::text(key))]);
    let other = match tx.rows(s).await?.into_iter().next() {
        Some(mut row) => row.text("id")?,
        None => String::from("(unknown)"),
    };
    tracing::warn!(
        tenant = t,
        id = %r.id,
        other = %other,
        "{} {} {:?} is the same as {} {other}'s after Unicode normalisation (NFC): it keeps \
         its previous key, and a write of it answers 409 until one of them is renamed or \
         deleted",
        k.what,
        r.id,
        r.name,
        k.what,
    );
    Ok(())
}
