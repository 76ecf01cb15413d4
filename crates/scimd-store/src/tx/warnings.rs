//! Warning counts (tables `warning_counts`, `warning_users`): kept by the write that gave the
//! warning, in its transaction, with two statements that cannot race (an insert that ignores
//! a user already counted, then an upsert of the counts that adds 1 to `users` only when that
//! insert added a row), so that the dashboard reads a few rows of an index range.

use super::StoreTx;
use crate::exec::Exec;
use crate::rows::read_row;
use crate::sql::{Bind, Tbl};
use scimd_directory::store::{StoreResult, WarningCount, WarningNote};

const COUNT_COLS: &str = "kind, subject, example, first_at, last_at, occurrences, users";

impl<E: Exec> StoreTx<E> {
    /// See [`scimd_directory::store::Tx::note_warning`].
    pub(super) async fn count_warning(&mut self, n: &WarningNote) -> StoreResult<()> {
        let t = n.tenant_id.as_str();
        let user = [
            Bind::text(&n.kind),
            Bind::text(&n.subject),
            Bind::text(&n.user_id),
        ];
        let mut s = self.q().insert(
            t,
            Tbl::WarningUsers,
            "tenant_id, kind, subject, user_id",
            [user],
        );
        s.sql(" ON CONFLICT (tenant_id, kind, subject, user_id) DO NOTHING");
        let new_user = self.run(s).await?;
        let row = [
            Bind::text(&n.kind),
            Bind::text(&n.subject),
            Bind::text(&n.example),
            Bind::Time(n.at),
            Bind::Time(n.at),
            Bind::Int(1),
            Bind::Int(i64::try_from(new_user).unwrap_or(1)),
        ];
        let cols = format!("tenant_id, {COUNT_COLS}");
        let mut s = self.q().insert(t, Tbl::WarningCounts, &cols, [row]);
        s.sql(
            " ON CONFLICT (tenant_id, kind, subject) DO UPDATE SET \
             example = excluded.example, last_at = excluded.last_at, \
             occurrences = warning_counts.occurrences + 1, \
             users = warning_counts.users + excluded.users",
        );
        self.run(s).await.map(drop)
    }

    /// See [`scimd_directory::store::Tx::warning_counts`].
    pub(super) async fn counted_warnings(
        &mut self,
        t: &str,
        limit: u64,
    ) -> StoreResult<Vec<WarningCount>> {
        let mut s = self.q().select(t, COUNT_COLS, (Tbl::WarningCounts, ""), []);
        s.sql(" ORDER BY last_at DESC, seq DESC")
            .page(Some(limit), 0);
        let rows = self.rows(s).await?;
        rows.into_iter()
            .map(|mut r| {
                Ok(read_row!(r => WarningCount {
                    kind, subject, example, first_at, last_at, occurrences, users
                }))
            })
            .collect()
    }
}
