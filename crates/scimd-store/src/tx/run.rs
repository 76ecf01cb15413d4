//! How the shared operations run statements: through the transaction's executor, as rows,
//! counts, pages with their total, and batches of list items.

use crate::exec::Exec;
use crate::rows::{Insert, Stored};
use crate::sql::{count_of, Bind, Col, Row, Scope, Sql, Stmts, Tbl};
use scimd_directory::store::{StoreError, StoreResult, TenantState};

/// A transaction of either store: its executor, and the operations of `Tx` over it.
/// Dropping it without `commit` rolls back (the executor's `Drop`).
pub(crate) struct StoreTx<E> {
    pub(super) x: E,
    /// Whether the transaction changed what the directory caches (a credential, a tenant,
    /// its settings, custom attributes or issuers): its commit then writes a new
    /// [`CONFIG_VERSION_FACT`](scimd_directory::store::CONFIG_VERSION_FACT).
    pub(super) config: bool,
    /// Tenants this transaction may change rows of: checked not `deleting` (and on
    /// PostgreSQL share-locked) by [`StoreTx::guard`], or whose state it changed itself.
    pub(super) guarded: Vec<String>,
    /// The transaction imports a copy (`scimd copy`): rows of a tenant being deleted are
    /// copied as they are.
    pub(super) copying: bool,
}

/// A number of rows (counted, changed).
pub(super) type Count = StoreResult<u64>;

/// A paged listing: columns, `ORDER BY` terms, `(offset, limit)` (rows to skip, rows to
/// return at most; 0: only count) and what writes ` FROM ... WHERE ...`.
pub(super) type Paged<'a> = (
    &'a str,
    &'a str,
    (u64, u64),
    &'a (dyn Fn(&mut Sql<'_>) + Sync),
);

impl<E: Exec> StoreTx<E> {
    /// A transaction running on `x`.
    pub(crate) fn new(x: E) -> StoreTx<E> {
        StoreTx {
            x,
            config: false,
            guarded: Vec::new(),
            copying: false,
        }
    }

    /// Notes that the transaction changes what the directory caches (see `config`).
    pub(super) fn config_changed(&mut self) {
        self.config = true;
    }

    /// The executor, to end the transaction.
    pub(super) fn into_exec(self) -> E {
        self.x
    }

    /// Makes this transaction's statements.
    pub(crate) fn q(&self) -> Stmts {
        Stmts {
            d: self.x.dialect(),
            writes: self.x.writes(),
        }
    }

    /// A statement on the rows of tenant `t`.
    pub(crate) fn of<'t>(&self, t: &'t str) -> Sql<'t> {
        self.q().of(t)
    }

    /// Runs a statement; its rows.
    pub(crate) async fn rows<'t>(
        &mut self,
        mut s: impl AsMut<Sql<'t>> + Send,
    ) -> StoreResult<Vec<Row>> {
        self.guard(s.as_mut()).await?;
        let s = s.as_mut().finish()?;
        self.x.fetch(&s).await
    }

    /// Before the first statement of this transaction that changes rows of a tenant: checks
    /// that the tenant is not being deleted, in the transaction, so that no row of a tenant
    /// is written once `scimd tenant delete` (or the operator API) has marked it `deleting`
    /// and its rows are being purged. SQLite's writers take turns, so the check sees every
    /// mark committed before; on PostgreSQL the check share-locks the tenant's row, so a
    /// mark waits for the writes in flight to end (their rows are then purged) and the
    /// writes after it see it. Errors: `TenantDeleting`.
    ///
    /// A transaction that changed the tenant's state itself, a purge step and a copy's
    /// import are not checked.
    pub(super) async fn guard(&mut self, s: &Sql<'_>) -> StoreResult<()> {
        let Some(t) = s.tenant_scope() else {
            return Ok(());
        };
        if self.copying || !s.changes_rows() || self.guarded.iter().any(|g| g == t) {
            return Ok(());
        }
        let mut q = self.q().select(
            Scope::Tenants,
            "state",
            (Tbl::Tenants, ""),
            [("id", Bind::text(t))],
        );
        let q = q.share_rows().finish()?;
        let state = match self.x.fetch(&q).await?.into_iter().next() {
            Some(mut row) => Some(row.text("state")?),
            None => None,
        };
        if state.as_deref() == Some(TenantState::Deleting.as_str()) {
            return Err(StoreError::TenantDeleting(t.to_string()));
        }
        self.guarded.push(t.to_string());
        Ok(())
    }

    /// Runs a statement; its first row, if any.
    pub(super) async fn row<'t>(
        &mut self,
        s: impl AsMut<Sql<'t>> + Send,
    ) -> StoreResult<Option<Row>> {
        Ok(self.rows(s).await?.into_iter().next())
    }

    /// Every record of `R`'s table in `scope`, in `order` (`ORDER BY` terms).
    pub(super) async fn all<'t, R: Stored>(
        &mut self,
        scope: impl Into<Scope<'t>> + Send,
        order: &str,
    ) -> StoreResult<Vec<R>> {
        let mut s = self.q().select(scope, R::COLS, (R::TABLE, ""), []);
        s.sql(" ORDER BY ").sql(order);
        self.rows(s).await?.into_iter().map(R::read).collect()
    }

    /// The record of `R`'s table in `scope` whose column `key` holds the value given, if
    /// any (the first, when the column is not unique).
    pub(super) async fn one<'t, R: Stored>(
        &mut self,
        scope: impl Into<Scope<'t>> + Send,
        key: Col<'_>,
    ) -> StoreResult<Option<R>> {
        let s = self.q().select(scope, R::COLS, (R::TABLE, ""), [key]);
        self.row(s).await?.map(R::read).transpose()
    }

    /// [`StoreTx::one`], the row locked until the transaction ends when it is a write
    /// transaction ([`Sql::lock_rows`]: PostgreSQL `FOR UPDATE`; SQLite's writers take turns
    /// already), for a change that starts from what it reads.
    pub(super) async fn one_locked<'t, R: Stored>(
        &mut self,
        scope: impl Into<Scope<'t>> + Send,
        key: Col<'_>,
    ) -> StoreResult<Option<R>> {
        let mut s = self.q().select(scope, R::COLS, (R::TABLE, ""), [key]);
        self.row(s.lock_rows()).await?.map(R::read).transpose()
    }

    /// Inserts `r` for `scope` (the tenant its `tenant_id` names; [`Scope::Tenants`] for a
    /// tenant). Errors: `Conflict` when it violates a unique constraint.
    pub(super) async fn insert_row<'t, R: Insert + Sync>(
        &mut self,
        scope: impl Into<Scope<'t>> + Send,
        r: &R,
    ) -> StoreResult<()> {
        self.insert_values(scope, (R::TABLE, R::COLS), r.binds())
            .await
    }

    /// Inserts one row into `table` for `scope`: `values` of `cols` (`a, b, c`) but
    /// `tenant_id`, which the statement layer binds. Errors: `Conflict` when it violates a
    /// unique constraint.
    pub(super) async fn insert_values<'t>(
        &mut self,
        scope: impl Into<Scope<'t>> + Send,
        (table, cols): (Tbl, &str),
        values: Vec<Bind>,
    ) -> StoreResult<()> {
        let mut s = self.q().insert(scope, table, cols, [values]);
        self.run(s.may_conflict()).await.map(drop)
    }

    /// Runs a statement returning no rows; how many it changed.
    pub(super) async fn run<'t>(&mut self, mut s: impl AsMut<Sql<'t>> + Send) -> StoreResult<u64> {
        self.guard(s.as_mut()).await?;
        let s = s.as_mut().finish()?;
        self.x.execute(&s).await
    }

    /// Runs a statement; the integer of its first row's first column (`COUNT(*)`,
    /// `RETURNING seq`). Errors: `Backend` when there is no row.
    pub(super) async fn int<'t>(&mut self, s: impl AsMut<Sql<'t>> + Send) -> StoreResult<i64> {
        match self.row(s).await? {
            Some(mut r) => r.first_int(),
            None => Err(StoreError::Backend("a statement returned no row".into())),
        }
    }

    /// Runs a `SELECT COUNT(*)`.
    pub(super) async fn count<'t>(&mut self, s: impl AsMut<Sql<'t>> + Send) -> StoreResult<u64> {
        Ok(count_of(self.int(s).await?))
    }

    /// The rows of one statement per batch of `items` (`build` writes the statement of a
    /// batch; `reserved` values are bound besides the items), in order. A back end that
    /// binds arrays takes every item in one statement.
    pub(super) async fn batched<'t, T: Sync>(
        &mut self,
        items: &[T],
        reserved: usize,
        build: impl Fn(&[T]) -> Sql<'t> + Send,
    ) -> StoreResult<Vec<Row>> {
        let mut out = Vec::new();
        for chunk in items.chunks(Sql::list_room(self.x.dialect(), reserved)) {
            out.extend(self.rows(build(chunk)).await?);
        }
        Ok(out)
    }

    /// The rows of the `page` statement (not run when `limit` is 0; read up to `max_bytes`
    /// bytes of values, see [`Exec::fetch_within`]) and the total: from the page when it
    /// tells it ([`total_from_page`]; never a page cut at its byte budget), else by running
    /// the `count` statement, in the same snapshot.
    pub(super) async fn page_and_total(
        &mut self,
        (offset, limit, max_bytes): (u64, u64, Option<usize>),
        page: StoreResult<Sql<'_>>,
        count: StoreResult<Sql<'_>>,
    ) -> StoreResult<(u64, Vec<Row>)> {
        let (rows, cut) = if limit == 0 {
            (Vec::new(), false)
        } else {
            let s = page?.finish()?;
            self.x
                .fetch_within(&s, max_bytes.unwrap_or(usize::MAX))
                .await?
        };
        let known = if cut {
            // The page stopped at its byte budget: it does not tell the total.
            None
        } else {
            total_from_page(offset, limit, rows.len())
        };
        let total = match known {
            Some(t) => t,
            None => self.count(count?).await?,
        };
        Ok((total, rows))
    }

    /// The total and the rows of a paged listing of tenant `t` (may scan: long statements).
    pub(super) async fn paged(&mut self, t: &str, p: Paged<'_>) -> StoreResult<(u64, Vec<Row>)> {
        let (q, (cols, order, (offset, limit), from_where)) = (self.q(), p);
        let statement = |count: bool| {
            let mut s = q.of(Scope::Tenant(t));
            s.long();
            if count {
                s.sql("SELECT COUNT(*)");
                from_where(&mut s);
            } else {
                s.sql("SELECT ").sql(cols);
                from_where(&mut s);
                s.sql(" ORDER BY ").sql(order);
                s.page(Some(limit), offset);
            }
            Ok(s)
        };
        let (page, count) = (statement(false), statement(true));
        self.page_and_total((offset, limit, None), page, count)
            .await
    }
}

/// `totalResults` of a list whose page (`LIMIT limit OFFSET offset`) returned `rows` rows, when
/// the page alone tells it, read in the same snapshot: a page that is not full and not empty
/// is the last one (`offset + rows`); an empty first page means no match. `None` when a
/// `COUNT` is needed (a full page, an empty page past the start, or `limit` 0).
///
/// Saves the `COUNT` statement of nearly every lookup (`userName eq …` finds 0 or 1 of a page
/// of 100) and of the last page of a listing.
pub(crate) fn total_from_page(offset: u64, limit: u64, rows: usize) -> Option<u64> {
    let n = rows as u64;
    if limit == 0 {
        None
    } else if n > 0 && n < limit {
        Some(offset.saturating_add(n))
    } else if n == 0 && offset == 0 {
        Some(0)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::total_from_page;

    #[test]
    fn totals_known_from_the_page() {
        assert_eq!(total_from_page(0, 100, 0), Some(0));
        assert_eq!(total_from_page(0, 100, 1), Some(1));
        assert_eq!(total_from_page(200, 100, 42), Some(242));
        // A full page may have more after it; an empty page past the start says nothing.
        assert_eq!(total_from_page(500, 100, 0), None);
        assert_eq!(total_from_page(0, 100, 100), None);
        assert_eq!(total_from_page(0, 0, 0), None);
    }
}
