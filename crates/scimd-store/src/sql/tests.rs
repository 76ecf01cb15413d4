//! The tenant rule of the statement layer, on SQLite's and PostgreSQL's spelling.

use super::check::named_tables;
use super::*;
use crate::postgres::dialect::PgDialect;
use crate::sqlite::dialect::SqliteDialect;

const DIALECTS: [&'static dyn Dialect; 2] = [&SqliteDialect, &PgDialect];

fn refused(mut s: Sql<'_>) -> String {
    match s.finish() {
        Err(StoreError::Backend(m)) => m,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_statement_without_the_tenant_is_refused() {
    for d in DIALECTS {
        // Named through the layer, but no tenant predicate.
        let mut s = Sql::new(d, Scope::Tenant("t1"), false);
        s.sql("SELECT id FROM ")
            .table(Tbl::Users, "r")
            .sql(" WHERE r.id = ")
            .bind(Bind::text("u1"));
        let m = refused(s);
        assert!(
            m.contains("users aliased r is not bound to the tenant"),
            "{m}"
        );

        // The same statement binding the tenant is built.
        let mut s = Sql::new(d, Scope::Tenant("t1"), false);
        s.sql("SELECT id FROM ")
            .table(Tbl::Users, "r")
            .sql(" WHERE r.id = ")
            .bind(Bind::text("u1"))
            .sql(" AND ")
            .tenant("r");
        let st = s.finish().unwrap();
        assert_eq!(st.binds, [Bind::text("u1"), Bind::text("t1")]);

        // A table written as plain text is refused, bound or not.
        let mut s = Sql::new(d, Scope::Tenant("t1"), false);
        s.sql("SELECT id FROM users WHERE tenant_id = ")
            .bind(Bind::text("t1"));
        let m = refused(s);
        assert!(m.contains("named outside the statement layer"), "{m}");
        let mut s = Sql::new(d, Scope::Across(Across::Export), false);
        s.sql("DELETE FROM group_members");
        assert!(refused(s).contains("named outside the statement layer"));

        // A sub-query on another tenant table must be bound too: through its owner row, or
        // to the same tenant as a bound row.
        let groups_with_members = |bind: &dyn Fn(&mut Sql<'_>)| {
            let mut s = Sql::new(d, Scope::Tenant("t1"), false);
            s.sql("SELECT r.id FROM ").table(Tbl::Groups, "r");
            s.sql(" WHERE ")
                .tenant("r")
                .sql(" AND EXISTS (SELECT 1 FROM ");
            s.table(Tbl::GroupMembers, "gm").sql(" WHERE ");
            bind(&mut s);
            s.sql(")");
            s
        };
        let unbound = groups_with_members(&|s| {
            s.sql("gm.member_id = ").bind(Bind::text("u1"));
        });
        assert!(refused(unbound).contains("group_members aliased gm is not bound"));
        let mut s = groups_with_members(&|s| {
            s.owned_by("gm", "r").sql(" AND NOT EXISTS (SELECT 1 FROM ");
            s.table(Tbl::Users, "du")
                .sql(" WHERE du.id = gm.member_id AND ");
            s.same_tenant("du", "gm").sql(")");
        });
        let st = s.finish().unwrap();
        assert!(st.sql.contains("gm.group_id = r.id"), "{}", st.sql);
        assert!(st.sql.contains("du.tenant_id = gm.tenant_id"), "{}", st.sql);

        // ... but not to a row that is itself unbound.
        let mut s = Sql::new(d, Scope::Tenant("t1"), false);
        s.sql("SELECT 1 FROM ")
            .table(Tbl::Groups, "g")
            .sql(" JOIN ")
            .table(Tbl::GroupMembers, "gm")
            .sql(" ON ")
            .owned_by("gm", "g");
        assert!(refused(s).contains("is not bound to the tenant"));

        // An insert binds the tenant as the row's value.
        let mut s = Sql::new(d, Scope::Tenant("t1"), false);
        s.insert_into(Tbl::SigninThrottle, "tenant_id, username_folded")
            .sql("VALUES (")
            .tenant_value()
            .sql(", ")
            .bind(Bind::text("k"))
            .sql(")");
        s.finish().unwrap();
        let mut s = Sql::new(d, Scope::Tenant("t1"), false);
        s.insert_into(Tbl::SigninThrottle, "tenant_id, username_folded")
            .sql("VALUES (")
            .binds([Bind::text("t2"), Bind::text("k")])
            .sql(")");
        assert!(refused(s).contains("signin_throttle (unqualified) is not bound"));

        // No tenant to bind outside a tenant's scope; the tenants table needs none.
        let mut s = Sql::new(d, Scope::Tenants, false);
        s.sql("SELECT id FROM ")
            .table(Tbl::Tokens, "")
            .sql(" WHERE ")
            .tenant("");
        assert!(refused(s).contains("a tenant predicate in a statement of scope Tenants"));
        let mut s = Sql::new(d, Scope::Tenants, false);
        s.sql("SELECT id FROM ").table(Tbl::Tenants, "");
        s.finish().unwrap();

        // Tables no tenant owns are written in the global scope, which binds no tenant and
        // so cannot reach a tenant's table.
        let mut s = Sql::new(d, Scope::Global, false);
        s.sql("DELETE FROM ")
            .table(Tbl::SigninAddresses, "")
            .sql(" WHERE tat < ")
            .bind(Bind::Int(1));
        s.finish().unwrap();
        let mut s = Sql::new(d, Scope::Global, false);
        s.sql("DELETE FROM ").table(Tbl::SigninThrottle, "");
        assert!(refused(s).contains("signin_throttle (unqualified) is not bound"));
    }
}

#[test]
fn statements_across_tenants_say_why() {
    for d in DIALECTS {
        let mut s = Sql::new(d, Scope::Across(Across::RetentionPurge), false);
        s.sql("DELETE FROM ")
            .table(Tbl::Changes, "")
            .sql(" WHERE at < ")
            .bind(Bind::Int(1));
        s.finish().unwrap();
    }
}

/// The escape hatch of tenant isolation: every reason a statement may span tenants, and
/// every place one does. A new one is a decision to make here, in review.
#[test]
fn the_escape_hatches() {
    // Every reason, reviewed: the match is exhaustive, so a new one does not compile until
    // it is given its place here, and `Across::ALL` must hold each once, in that place.
    let place = |why: Across| match why {
        Across::TokenBySecret => 0,
        Across::AccessTokenBySecret => 1,
        Across::SessionBySecret => 2,
        Across::RetentionPurge => 3,
        Across::Export => 4,
        Across::TableCounts => 5,
        Across::Rekey => 6,
    };
    for (i, why) in Across::ALL.into_iter().enumerate() {
        assert_eq!(place(why), i, "Across::ALL[{i}]");
    }
    let sources = [
        ("tx/mod.rs", include_str!("../tx/mod.rs")),
        ("tx/run.rs", include_str!("../tx/run.rs")),
        ("tx/users.rs", include_str!("../tx/users.rs")),
        ("tx/members.rs", include_str!("../tx/members.rs")),
        ("tx/documents.rs", include_str!("../tx/documents.rs")),
        ("tx/search.rs", include_str!("../tx/search.rs")),
        ("tx/records.rs", include_str!("../tx/records.rs")),
        ("tx/export.rs", include_str!("../tx/export.rs")),
        ("tx/steps.rs", include_str!("../tx/steps.rs")),
        ("tx/credentials.rs", include_str!("../tx/credentials.rs")),
    ];
    let mut uses = Vec::new();
    for (file, text) in sources {
        for (i, _) in text.match_indices("Across::") {
            let name: String = text[i + 8..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            uses.push(format!("{file}: {name}"));
        }
    }
    assert_eq!(
        uses,
        [
            "tx/mod.rs: TokenBySecret",
            "tx/mod.rs: RetentionPurge",
            "tx/mod.rs: SessionBySecret",
            "tx/mod.rs: SessionBySecret",
            "tx/mod.rs: RetentionPurge",
            "tx/export.rs: Export",
            "tx/export.rs: Export",
            "tx/export.rs: TableCounts",
            "tx/steps.rs: Rekey",
            "tx/steps.rs: Rekey",
            "tx/steps.rs: Rekey",
            "tx/credentials.rs: AccessTokenBySecret",
            "tx/credentials.rs: AccessTokenBySecret",
        ],
        "a statement spans tenants somewhere new: review it and list it here"
    );
}

#[test]
fn tables_named_in_text_are_found() {
    let found = named_tables(
        "SELECT u.id FROM users u JOIN groups AS g ON g.id = u.id \
         WHERE EXISTS (SELECT 1 FROM json_each(u.doc, '$.\"FROM users\"') e) \
         AND u.seq IN (SELECT user_seq FROM user_emails WHERE x) ORDER BY u.seq",
    );
    assert_eq!(
        found,
        [(Tbl::Users, "u"), (Tbl::Groups, "g"), (Tbl::UserEmails, "")]
    );
    assert_eq!(
        named_tables("INSERT INTO tokens (id) VALUES (?)"),
        [(Tbl::Tokens, "")]
    );
    assert_eq!(
        named_tables("UPDATE users AS u SET doc = v.column2 FROM (VALUES (?, ?)) AS v"),
        [(Tbl::Users, "u")]
    );
    assert_eq!(
        named_tables("delete from sessions where id = 1"),
        [(Tbl::Sessions, "")]
    );
}

#[test]
fn placeholders_pages_and_lists_per_back_end() {
    let items = ["a".to_string(), "b".to_string()];
    let users_in = |d: &'static dyn Dialect| {
        let mut s = Sql::new(d, Scope::Tenant("t"), true);
        s.sql("SELECT r.id FROM ")
            .table(Tbl::Users, "r")
            .sql(" WHERE ");
        s.tenant("r").sql(" AND ").in_texts("r.id", &items);
        s
    };
    let mut s = users_in(&SqliteDialect);
    s.lock_rows().page(Some(10), 20);
    assert_eq!(
        s.finish().unwrap().sql,
        "SELECT r.id FROM users r WHERE r.tenant_id = ? AND r.id IN (?, ?) LIMIT 10 OFFSET 20"
    );
    let mut s = users_in(&PgDialect);
    s.sql(" AND r.doc = ").bind(Bind::Json("{}".into()));
    s.lock_rows().page(None, 20);
    let st = s.finish().unwrap();
    assert_eq!(
        st.sql,
        "SELECT r.id FROM users r WHERE r.tenant_id = $1 AND r.id = ANY($2) AND r.doc = $3::json FOR UPDATE LIMIT $4 OFFSET $5"
    );
    assert_eq!(st.binds[1], Bind::Texts(items.to_vec()));
    assert_eq!(st.binds[3], Bind::Null(Ty::Int));
}

#[test]
fn fragments_carry_their_tables_and_no_binds() {
    let d: &'static dyn Dialect = &SqliteDialect;
    let outer = Sql::new(d, Scope::Tenant("t"), false);
    let mut f = outer.fragment();
    f.sql("(SELECT g.display_name FROM ")
        .table(Tbl::Groups, "g")
        .sql(" WHERE g.id = gm.group_id AND ")
        .same_tenant("g", "gm")
        .sql(")");
    let (text, refs) = f.into_fragment().unwrap();
    // Written without adopting its tables: refused.
    let mut s = Sql::new(d, Scope::Tenant("t"), false);
    s.sql("SELECT ")
        .sql(&text)
        .sql(" FROM ")
        .table(Tbl::GroupMembers, "gm")
        .sql(" WHERE ")
        .tenant("gm");
    assert!(refused(s).contains("named outside the statement layer"));
    let mut s = Sql::new(d, Scope::Tenant("t"), false);
    s.sql("SELECT ")
        .sql(&text)
        .adopt(&refs)
        .sql(" FROM ")
        .table(Tbl::GroupMembers, "gm")
        .sql(" WHERE ")
        .tenant("gm");
    s.finish().unwrap();
    let mut f = outer.fragment();
    f.sql("x = ").bind(Bind::Int(1));
    assert!(f.into_fragment().is_err());
}
