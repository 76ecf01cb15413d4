//! The tables of the schema as the statement layer knows them: their names, which belong to
//! a tenant (tenant isolation), which rows another row owns, and what each unique key
//! protects (the [`ConflictTarget`] of a violation, looked up here for both back ends).
//!
//! A test (`registry_matches_the_migrations`) reads both migrated schemas and checks this
//! registry against them: every table is listed, exactly the tables with a `tenant_id` are
//! tenant tables, and every unique constraint and unique index has its target. A table
//! added by a migration is refused by the statement layer until it is listed here, and is
//! a tenant table — its statements must bind the tenant — as soon as it has a `tenant_id`.

use scimd_directory::store::{ConflictTarget, Table};

/// A table of the schema (`migrations/sqlite`, `migrations/postgres`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Tbl {
    /// `tenants`: not a tenant's table.
    Tenants,
    /// `migration_steps`: steps the store runs in Rust after its SQL migrations (not a
    /// tenant's table).
    MigrationSteps,
    /// `tokens`.
    Tokens,
    /// `attributes` (custom attribute definitions).
    Attributes,
    /// `admins` (portal administrators).
    Admins,
    /// `sessions` (portal sessions).
    Sessions,
    /// `signin_throttle` (portal sign-in attempts per username).
    SigninThrottle,
    /// `signin_addresses` (failed portal sign-ins per client address, across tenants).
    SigninAddresses,
    /// `heartbeat` (the readiness probe's one row).
    Heartbeat,
    /// `users`.
    Users,
    /// `user_emails`.
    UserEmails,
    /// `groups`.
    Groups,
    /// `group_members`.
    GroupMembers,
    /// `changes` (change records: the provisioning log, histories, the audit record).
    Changes,
    /// `oauth_clients` (OAuth 2.0 clients of the client credentials grant).
    OauthClients,
    /// `access_tokens` (access tokens issued to OAuth clients, hashes only).
    AccessTokens,
    /// `auth_refusal_counts` (refused authentications per reason and hour).
    AuthRefusalCounts,
    /// `auth_refusals` (the last refused authentications).
    AuthRefusals,
}

impl Tbl {
    /// Every table.
    pub(crate) const ALL: [Tbl; 18] = [
        Tbl::Tenants,
        Tbl::MigrationSteps,
        Tbl::Tokens,
        Tbl::Attributes,
        Tbl::Admins,
        Tbl::Sessions,
        Tbl::SigninThrottle,
        Tbl::SigninAddresses,
        Tbl::Heartbeat,
        Tbl::Users,
        Tbl::UserEmails,
        Tbl::Groups,
        Tbl::GroupMembers,
        Tbl::Changes,
        Tbl::OauthClients,
        Tbl::AccessTokens,
        Tbl::AuthRefusalCounts,
        Tbl::AuthRefusals,
    ];

    /// The SQL name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tbl::Tenants => "tenants",
            Tbl::MigrationSteps => "migration_steps",
            Tbl::Tokens => "tokens",
            Tbl::Attributes => "attributes",
            Tbl::Admins => "admins",
            Tbl::Sessions => "sessions",
            Tbl::SigninThrottle => "signin_throttle",
            Tbl::SigninAddresses => "signin_addresses",
            Tbl::Heartbeat => "heartbeat",
            Tbl::Users => "users",
            Tbl::UserEmails => "user_emails",
            Tbl::Groups => "groups",
            Tbl::GroupMembers => "group_members",
            Tbl::Changes => "changes",
            Tbl::OauthClients => "oauth_clients",
            Tbl::AccessTokens => "access_tokens",
            Tbl::AuthRefusalCounts => "auth_refusal_counts",
            Tbl::AuthRefusals => "auth_refusals",
        }
    }

    /// The table named `name`, if it is one of the schema's.
    pub(crate) fn named(name: &str) -> Option<Tbl> {
        Tbl::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether every row belongs to one tenant (has a `tenant_id`): every table but
    /// `tenants`, `migration_steps` and the ones no tenant owns (`signin_addresses`: a client
    /// address is throttled across tenants; `heartbeat`: the database's). Statements on these
    /// tables bind the tenant (see `crate::sql`).
    pub(crate) fn is_tenant_table(self) -> bool {
        !matches!(
            self,
            Tbl::Tenants | Tbl::MigrationSteps | Tbl::SigninAddresses | Tbl::Heartbeat
        )
    }

    /// The row that owns a row of this table, when one does: `(column, owner table, owner
    /// key)`. A membership belongs to its group, an email to its user, a session to its
    /// administrator (deleting the owner deletes them, `ON DELETE CASCADE`), so rows
    /// selected through a tenant's owner row are that tenant's.
    pub(crate) fn owner(self) -> Option<(&'static str, Tbl, &'static str)> {
        match self {
            Tbl::GroupMembers => Some(("group_id", Tbl::Groups, "id")),
            Tbl::UserEmails => Some(("user_seq", Tbl::Users, "seq")),
            Tbl::Sessions => Some(("admin_id", Tbl::Admins, "id")),
            _ => None,
        }
    }

    /// The table of a copied [`Table`].
    pub(crate) fn of(t: Table) -> Tbl {
        match t {
            Table::Tenants => Tbl::Tenants,
            Table::Tokens => Tbl::Tokens,
            Table::Attributes => Tbl::Attributes,
            Table::Admins => Tbl::Admins,
            Table::Users => Tbl::Users,
            Table::UserEmails => Tbl::UserEmails,
            Table::Groups => Tbl::Groups,
            Table::GroupMembers => Tbl::GroupMembers,
            Table::Changes => Tbl::Changes,
        }
    }
}

/// A unique key of a table: its name (PostgreSQL reports violations by constraint or index
/// name), its columns (SQLite reports them by column) and what it protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UniqueKey {
    /// The table.
    pub(crate) table: Tbl,
    /// Constraint or unique index name (as in `migrations/postgres`).
    pub(crate) name: &'static str,
    /// Its columns, in order.
    pub(crate) columns: &'static [&'static str],
    /// What a violation is a conflict on.
    pub(crate) target: ConflictTarget,
}

const fn key(
    table: Tbl,
    name: &'static str,
    columns: &'static [&'static str],
    target: ConflictTarget,
) -> UniqueKey {
    UniqueKey {
        table,
        name,
        columns,
        target,
    }
}

use ConflictTarget as C;

/// Every unique key of the schema (primary keys, unique constraints, unique indexes).
pub(crate) const UNIQUE_KEYS: &[UniqueKey] = &[
    key(Tbl::Tenants, "tenants_pkey", &["seq"], C::Id),
    key(Tbl::Tenants, "tenants_id_unique", &["id"], C::Id),
    key(
        Tbl::Tenants,
        "tenants_name_unique",
        &["name"],
        C::TenantName,
    ),
    key(Tbl::MigrationSteps, "migration_steps_pkey", &["seq"], C::Id),
    key(
        Tbl::MigrationSteps,
        "migration_steps_name_unique",
        &["name"],
        C::Id,
    ),
    key(Tbl::Tokens, "tokens_pkey", &["seq"], C::Id),
    key(Tbl::Tokens, "tokens_id_unique", &["id"], C::Id),
    key(
        Tbl::Tokens,
        "tokens_secret_unique",
        &["secret_sha256"],
        C::TokenSecret,
    ),
    key(
        Tbl::Tokens,
        "tokens_live_name",
        &["tenant_id", "name"],
        C::TokenName,
    ),
    key(Tbl::Attributes, "attributes_pkey", &["seq"], C::Id),
    key(
        Tbl::Attributes,
        "attributes_name_unique",
        &["tenant_id", "name_folded"],
        C::AttributeName,
    ),
    key(Tbl::Admins, "admins_pkey", &["seq"], C::Id),
    key(Tbl::Admins, "admins_id_unique", &["id"], C::Id),
    key(
        Tbl::Admins,
        "admins_username_unique",
        &["tenant_id", "username_folded"],
        C::AdminUsername,
    ),
    key(Tbl::Sessions, "sessions_pkey", &["id_sha256"], C::Id),
    key(Tbl::SigninThrottle, "signin_throttle_pkey", &["seq"], C::Id),
    // Upserted (ON CONFLICT): a violation never reaches a caller.
    key(
        Tbl::SigninThrottle,
        "signin_throttle_key",
        &["tenant_id", "username_folded", "device"],
        C::Id,
    ),
    key(
        Tbl::SigninAddresses,
        "signin_addresses_pkey",
        &["seq"],
        C::Id,
    ),
    key(
        Tbl::SigninAddresses,
        "signin_addresses_address",
        &["address"],
        C::Id,
    ),
    key(Tbl::Heartbeat, "heartbeat_pkey", &["seq"], C::Id),
    key(Tbl::Users, "users_pkey", &["seq"], C::Id),
    key(Tbl::Users, "users_id_unique", &["id"], C::Id),
    key(
        Tbl::Users,
        "users_user_name_unique",
        &["tenant_id", "user_name_folded"],
        C::UserName,
    ),
    key(Tbl::UserEmails, "user_emails_pkey", &["seq"], C::Id),
    key(Tbl::Groups, "groups_pkey", &["seq"], C::Id),
    key(Tbl::Groups, "groups_id_unique", &["id"], C::Id),
    key(
        Tbl::Groups,
        "groups_display_name_unique",
        &["tenant_id", "display_name_folded"],
        C::DisplayName,
    ),
    key(Tbl::GroupMembers, "group_members_pkey", &["seq"], C::Id),
    key(
        Tbl::GroupMembers,
        "group_members_unique",
        &["group_id", "member_id"],
        C::Membership,
    ),
    key(Tbl::Changes, "changes_pkey", &["seq"], C::Id),
    // Coalesced records (failed sign-ins): written with ON CONFLICT, never a conflict.
    key(
        Tbl::Changes,
        "changes_coalesce",
        &["tenant_id", "coalesce_key"],
        C::Id,
    ),
    key(Tbl::OauthClients, "oauth_clients_pkey", &["seq"], C::Id),
    key(Tbl::OauthClients, "oauth_clients_id_unique", &["id"], C::Id),
    key(
        Tbl::OauthClients,
        "oauth_clients_live_name",
        &["tenant_id", "name"],
        C::ClientName,
    ),
    key(Tbl::AccessTokens, "access_tokens_pkey", &["seq"], C::Id),
    // 256 random bits: a collision is not a case a caller meets.
    key(
        Tbl::AccessTokens,
        "access_tokens_secret_unique",
        &["secret_sha256"],
        C::TokenSecret,
    ),
    key(
        Tbl::AuthRefusalCounts,
        "auth_refusal_counts_pkey",
        &["seq"],
        C::Id,
    ),
    // Upserted (ON CONFLICT): a violation never reaches a caller.
    key(
        Tbl::AuthRefusalCounts,
        "auth_refusal_counts_key",
        &["tenant_id", "hour", "reason"],
        C::Id,
    ),
    key(Tbl::AuthRefusals, "auth_refusals_pkey", &["seq"], C::Id),
];

/// What the unique key named `name` protects (PostgreSQL's constraint name of a violation).
pub(crate) fn conflict_by_name(name: &str) -> Option<ConflictTarget> {
    UNIQUE_KEYS
        .iter()
        .find(|k| k.name == name)
        .map(|k| k.target)
}

/// What the unique key over `columns` protects; `columns` as SQLite names them in a
/// violation (`users.tenant_id, users.user_name_folded`).
pub(crate) fn conflict_by_columns(columns: &str) -> Option<ConflictTarget> {
    let cols: Vec<(&str, &str)> = columns
        .split(", ")
        .map(|c| c.trim().split_once('.').unwrap_or(("", c)))
        .collect();
    let table = Tbl::named(cols.first()?.0)?;
    UNIQUE_KEYS
        .iter()
        .find(|k| {
            k.table == table
                && k.columns.len() == cols.len()
                && k.columns
                    .iter()
                    .zip(&cols)
                    .all(|(a, (t, c))| a == c && *t == table.name())
        })
        .map(|k| k.target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every table of a migrated SQLite database is in the registry, its unique keys are
    /// the registry's, tenant tables are the ones with a `tenant_id`, and owner links are
    /// foreign keys; the same for PostgreSQL's unique keys by name when
    /// `SCIMD_TEST_PG_URL` names a server.
    #[tokio::test]
    async fn registry_matches_the_migrations() {
        let dir = std::env::temp_dir().join(format!("scimd-registry-{}", uuid::Uuid::new_v4()));
        let path = dir.join("r.db");
        let store = crate::SqliteStore::open(path.to_str().unwrap())
            .await
            .unwrap();
        store.close().await;
        let c = rusqlite::Connection::open(&path).unwrap();
        let list = |sql: &str| -> Vec<Vec<String>> {
            let mut st = c.prepare(sql).unwrap();
            let n = st.column_count();
            let rows = st.query_map([], |r| {
                (0..n)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i))
                    .collect::<Result<Vec<_>, _>>()
            });
            let text = |v: rusqlite::types::Value| match v {
                rusqlite::types::Value::Text(s) => s,
                rusqlite::types::Value::Integer(i) => i.to_string(),
                _ => String::new(),
            };
            rows.unwrap()
                .map(|r| r.unwrap().into_iter().map(text).collect())
                .collect()
        };
        let tables = list(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations'",
        );
        let names: BTreeSet<&str> = tables.iter().map(|r| r[0].as_str()).collect();
        let known: BTreeSet<&str> = Tbl::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(
            names, known,
            "tables of the migrations vs crate::schema::Tbl"
        );
        for t in Tbl::ALL {
            let cols = list(&format!(
                "SELECT name, pk FROM pragma_table_info('{}')",
                t.name()
            ));
            let tenant_id = cols.iter().any(|c| c[0] == "tenant_id");
            assert_eq!(tenant_id, t.is_tenant_table(), "{t:?}: tenant_id column");
            let mut keys: BTreeSet<Vec<String>> = BTreeSet::new();
            let pk: Vec<String> = cols
                .iter()
                .filter(|c| c[1] != "0")
                .map(|c| c[0].clone())
                .collect();
            keys.insert(pk);
            for idx in list(&format!(
                "SELECT name FROM pragma_index_list('{}') WHERE \"unique\" = 1",
                t.name()
            )) {
                let cols = list(&format!(
                    "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
                    idx[0]
                ));
                keys.insert(cols.into_iter().map(|c| c[0].clone()).collect());
            }
            let registry: BTreeSet<Vec<String>> = UNIQUE_KEYS
                .iter()
                .filter(|k| k.table == t)
                .map(|k| k.columns.iter().map(|c| c.to_string()).collect())
                .collect();
            assert_eq!(
                keys, registry,
                "{t:?}: unique keys vs crate::schema::UNIQUE_KEYS"
            );
            if let Some((column, owner, key)) = t.owner() {
                let fks = list(&format!(
                    "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list('{}')",
                    t.name()
                ));
                let link = [
                    column.to_string(),
                    owner.name().to_string(),
                    key.to_string(),
                ];
                assert!(
                    fks.iter().any(|f| f[..] == link[..]),
                    "{t:?}: owner link {link:?}"
                );
            }
        }
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
        let Ok(url) = std::env::var("SCIMD_TEST_PG_URL") else {
            eprintln!(
                "SCIMD_TEST_PG_URL is not set: the PostgreSQL constraint names are not checked"
            );
            return;
        };
        use sqlx::Connection;
        let db = format!("scimd_registry_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let (base, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let own = format!(
            "{base}/{db}{}{query}",
            if query.is_empty() { "" } else { "?" }
        );
        let store = crate::PgStore::open(&own).await.unwrap();
        store.close().await;
        let mut c = sqlx::PgConnection::connect(&own).await.unwrap();
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.relname::text, i.relname::text FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE x.indisunique AND n.nspname = 'public' AND c.relname <> '_sqlx_migrations'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        c.close().await.ok();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {db} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        let found: BTreeSet<(String, String)> = found.into_iter().collect();
        let registry: BTreeSet<(String, String)> = UNIQUE_KEYS
            .iter()
            .map(|k| (k.table.name().to_string(), k.name.to_string()))
            .collect();
        assert_eq!(
            found, registry,
            "PostgreSQL unique keys vs crate::schema::UNIQUE_KEYS"
        );
    }

    #[test]
    fn names_and_violations_map_to_targets() {
        for t in Tbl::ALL {
            assert_eq!(Tbl::named(t.name()), Some(t));
        }
        assert_eq!(Tbl::named("sqlite_sequence"), None);
        assert_eq!(
            conflict_by_columns("users.tenant_id, users.user_name_folded"),
            Some(C::UserName)
        );
        assert_eq!(
            conflict_by_columns("tokens.tenant_id, tokens.name"),
            Some(C::TokenName)
        );
        assert_eq!(conflict_by_columns("sessions.id_sha256"), Some(C::Id));
        assert_eq!(conflict_by_columns("users.user_name_folded"), None);
        assert_eq!(conflict_by_columns("nowhere.id"), None);
        assert_eq!(
            conflict_by_name("admins_username_unique"),
            Some(C::AdminUsername)
        );
        assert_eq!(conflict_by_name("tokens_live_name"), Some(C::TokenName));
        assert_eq!(conflict_by_name("made_up"), None);
        for k in UNIQUE_KEYS {
            let cols: Vec<String> = k
                .columns
                .iter()
                .map(|c| format!("{}.{c}", k.table.name()))
                .collect();
            assert_eq!(
                conflict_by_columns(&cols.join(", ")),
                Some(k.target),
                "{k:?}"
            );
        }
    }
}
