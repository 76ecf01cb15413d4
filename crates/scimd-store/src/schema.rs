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
    /// `deployment` (facts about the deployment as a whole, by name: `public_url`).
    Deployment,
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
    /// `warning_counts` (the warnings of provisioning, counted per kind and subject).
    WarningCounts,
    /// `warning_users` (the users each counted warning was about).
    WarningUsers,
    /// `issuers` (OIDC issuers whose JWT access tokens are accepted).
    Issuers,
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
    pub(crate) const ALL: [Tbl; 22] = [
        Tbl::Tenants,
        Tbl::MigrationSteps,
        Tbl::Tokens,
        Tbl::Attributes,
        Tbl::Admins,
        Tbl::Sessions,
        Tbl::SigninThrottle,
        Tbl::SigninAddresses,
        Tbl::Heartbeat,
        Tbl::Deployment,
        Tbl::Users,
        Tbl::UserEmails,
        Tbl::Groups,
        Tbl::GroupMembers,
        Tbl::Changes,
        Tbl::WarningCounts,
        Tbl::WarningUsers,
        Tbl::Issuers,
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
            Tbl::Deployment => "deployment",
            Tbl::Users => "users",
            Tbl::UserEmails => "user_emails",
            Tbl::Groups => "groups",
            Tbl::GroupMembers => "group_members",
            Tbl::Changes => "changes",
            Tbl::WarningCounts => "warning_counts",
            Tbl::WarningUsers => "warning_users",
            Tbl::Issuers => "issuers",
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
    /// address is throttled across tenants; `heartbeat` and `deployment`: the database's).
    /// Statements on these tables bind the tenant (see `crate::sql`).
    pub(crate) fn is_tenant_table(self) -> bool {
        !matches!(
            self,
            Tbl::Tenants
                | Tbl::MigrationSteps
                | Tbl::SigninAddresses
                | Tbl::Heartbeat
                | Tbl::Deployment
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
            Table::Issuers => Tbl::Issuers,
            Table::OauthClients => Tbl::OauthClients,
        }
    }
}

/// A unique key of a table: its name (PostgreSQL reports violations by constraint or index
/// name), its columns (SQLite reports them by column) and what it protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UniqueKey {
    /// The table.
    pub(crate) table: Tbl,
    /// Constraint or unique index name (as in `migrations/postgres`): `<table>_<suffix>`.
    pub(crate) name: String,
    /// Its columns, in order.
    pub(crate) columns: Vec<String>,
    /// What a violation is a conflict on.
    pub(crate) target: ConflictTarget,
}

use ConflictTarget as C;

impl Tbl {
    /// The unique keys of the table, by the schema's conventions: the primary key
    /// (`<table>_pkey`, the insertion sequence number `seq`, but for `sessions`, keyed by the
    /// hash of the session id); for tables of rows addressed by an `id`, `<table>_id_unique`;
    /// for a name unique in a tenant ignoring case, `<table>_<column>_unique` over
    /// `(tenant_id, <column>_folded)`; then the table's own keys.
    pub(crate) fn unique_keys(self) -> Vec<UniqueKey> {
        let key = |suffix: &str, columns: &[&str], target| UniqueKey {
            table: self,
            name: format!("{}_{suffix}", self.name()),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            target,
        };
        let primary: &[&str] = match self {
            Tbl::Sessions => &["id_sha256"],
            _ => &["seq"],
        };
        let mut keys = vec![key("pkey", primary, C::Id)];
        if matches!(
            self,
            Tbl::Tenants
                | Tbl::Tokens
                | Tbl::Admins
                | Tbl::Users
                | Tbl::Groups
                | Tbl::Issuers
                | Tbl::OauthClients
        ) {
            keys.push(key("id_unique", &["id"], C::Id));
        }
        let folded_name = match self {
            Tbl::Attributes => Some(("name", C::AttributeName)),
            Tbl::Admins => Some(("username", C::AdminUsername)),
            Tbl::Users => Some(("user_name", C::UserName)),
            Tbl::Groups => Some(("display_name", C::DisplayName)),
            _ => None,
        };
        if let Some((column, target)) = folded_name {
            let folded = format!("{column}_folded");
            let suffix = format!("{column}_unique");
            keys.push(key(&suffix, &["tenant_id", &folded], target));
        }
        let own: &[(&str, &[&str], ConflictTarget)] = match self {
            Tbl::Tenants => &[
                ("name_unique", &["name"], C::TenantName),
                ("slug", &["slug"], C::TenantSlug),
            ],
            Tbl::MigrationSteps => &[("name_unique", &["name"], C::Id)],
            Tbl::Tokens => &[
                ("secret_unique", &["secret_sha256"], C::TokenSecret),
                ("live_name", &["tenant_id", "name"], C::TokenName),
            ],
            // Upserted (ON CONFLICT): a violation never reaches a caller.
            Tbl::SigninThrottle => &[("key", &["tenant_id", "username_folded", "device"], C::Id)],
            Tbl::SigninAddresses => &[("address", &["address"], C::Id)],
            Tbl::Deployment => &[("name_unique", &["name"], C::Id)],
            Tbl::Issuers => &[("issuer_unique", &["tenant_id", "issuer"], C::Issuer)],
            Tbl::OauthClients => &[("live_name", &["tenant_id", "name"], C::ClientName)],
            // 256 random bits: a collision is not a case a caller meets.
            Tbl::AccessTokens => &[("secret_unique", &["secret_sha256"], C::TokenSecret)],
            // Upserted (ON CONFLICT): a violation never reaches a caller.
            Tbl::AuthRefusalCounts => &[("key", &["tenant_id", "hour", "reason"], C::Id)],
            Tbl::GroupMembers => &[("unique", &["group_id", "member_id"], C::Membership)],
            // Coalesced records (failed sign-ins): written with ON CONFLICT, never a conflict.
            Tbl::Changes => &[("coalesce", &["tenant_id", "coalesce_key"], C::Id)],
            // Both upserted or inserted with ON CONFLICT: never a conflict.
            Tbl::WarningCounts => &[("key", &["tenant_id", "kind", "subject"], C::Id)],
            Tbl::WarningUsers => &[("key", &["tenant_id", "kind", "subject", "user_id"], C::Id)],
            _ => &[],
        };
        let own = own
            .iter()
            .map(|&(suffix, columns, target)| key(suffix, columns, target));
        keys.extend(own);
        keys
    }
}

/// Every unique key of the schema (primary keys, unique constraints, unique indexes), table
/// by table.
pub(crate) fn unique_keys() -> impl Iterator<Item = UniqueKey> {
    Tbl::ALL.into_iter().flat_map(Tbl::unique_keys)
}

/// What the unique key named `name` protects (PostgreSQL's constraint name of a violation).
pub(crate) fn conflict_by_name(name: &str) -> Option<ConflictTarget> {
    unique_keys().find(|k| k.name == name).map(|k| k.target)
}

/// What the unique key over `columns` protects; `columns` as SQLite names them in a
/// violation (`users.tenant_id, users.user_name_folded`).
pub(crate) fn conflict_by_columns(columns: &str) -> Option<ConflictTarget> {
    let cols: Vec<(&str, &str)> = columns
        .split(", ")
        .map(|c| c.trim().split_once('.').unwrap_or(("", c)))
        .collect();
    let table = Tbl::named(cols.first()?.0)?;
    unique_keys()
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
            let registry: BTreeSet<Vec<String>> = unique_keys()
                .filter(|k| k.table == t)
                .map(|k| k.columns)
                .collect();
            assert_eq!(
                keys, registry,
                "{t:?}: unique keys vs crate::schema::unique_keys"
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
        let registry: BTreeSet<(String, String)> = unique_keys()
            .map(|k| (k.table.name().to_string(), k.name))
            .collect();
        assert_eq!(
            found, registry,
            "PostgreSQL unique keys vs crate::schema::unique_keys"
        );
    }

    #[test]
    fn names_and_violations_map_to_targets() {
        for t in Tbl::ALL {
            assert_eq!(Tbl::named(t.name()), Some(t));
        }
        assert_eq!(Tbl::named("sqlite_sequence"), None);
        // Each case: the lookup, the violation as the back end reports it, the target.
        type Lookup = fn(&str) -> Option<ConflictTarget>;
        let (by_columns, by_name): (Lookup, Lookup) = (conflict_by_columns, conflict_by_name);
        let cases = [
            (
                by_columns,
                "users.tenant_id, users.user_name_folded",
                Some(C::UserName),
            ),
            (
                by_columns,
                "tokens.tenant_id, tokens.name",
                Some(C::TokenName),
            ),
            (by_columns, "sessions.id_sha256", Some(C::Id)),
            (by_columns, "users.user_name_folded", None),
            (by_columns, "nowhere.id", None),
            (by_name, "admins_username_unique", Some(C::AdminUsername)),
            (by_name, "tokens_live_name", Some(C::TokenName)),
            (by_name, "made_up", None),
            (by_name, "users_live_name", None),
        ];
        for (lookup, reported, target) in cases {
            assert_eq!(lookup(reported), target, "{reported}");
        }
        for k in unique_keys() {
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
