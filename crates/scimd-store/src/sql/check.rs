//! The tenant rule of a finished statement (see the `sql` module): every table its text
//! names was referenced through the layer, and every reference to a tenant table is bound
//! to the tenant, unless the statement spans tenants for an [`super::Across`] reason.
//!
//! The text is scanned for the table names that follow `FROM`, `JOIN`, `INTO` and `UPDATE`
//! (and the alias after them). Tables listed after a comma (`FROM a, b`) are not seen: the
//! store writes joins with `JOIN`.

use super::{Ref, Scope, Tbl, Via};

/// Words that end a table reference rather than alias it.
const NOT_ALIASES: &[&str] = &[
    "WHERE",
    "ON",
    "SET",
    "JOIN",
    "LEFT",
    "INNER",
    "CROSS",
    "ORDER",
    "GROUP",
    "LIMIT",
    "UNION",
    "USING",
    "VALUES",
    "SELECT",
    "RETURNING",
    "DEFAULT",
    "FOR",
];

/// Identifier characters (`[A-Za-z0-9_]`), by byte.
const IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_';
        c += 1;
    }
    t
};

/// The next token of `b` from `*i` on: an identifier (or keyword) or one punctuation
/// byte; blanks and string literals are skipped. `None` at the end.
fn token<'a>(sql: &'a str, i: &mut usize) -> Option<&'a str> {
    let b = sql.as_bytes();
    loop {
        let c = *b.get(*i)?;
        if IDENT[c as usize] {
            let start = *i;
            while b.get(*i).is_some_and(|c| IDENT[*c as usize]) {
                *i += 1;
            }
            return Some(&sql[start..*i]);
        } else if c == b'\'' {
            // A string literal ('' inside is an escaped quote: two literals in a row).
            *i += 1 + b[*i + 1..]
                .iter()
                .position(|c| *c == b'\'')
                .map_or(b.len(), |p| p + 1);
        } else if c.is_ascii_whitespace() {
            *i += 1;
        } else {
            // Punctuation is ASCII in everything the store writes; step over any other
            // character whole.
            let start = *i;
            *i += sql[start..].chars().next().map_or(1, char::len_utf8);
            return Some(&sql[start..*i]);
        }
    }
}

fn is_word(t: &str) -> bool {
    t.bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
}

/// `(table, alias)` of every table the text names after `FROM`, `JOIN`, `INTO` or
/// `UPDATE`; the alias is `""` when none follows.
pub(super) fn named_tables(sql: &str) -> Vec<(Tbl, &str)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(t) = token(sql, &mut i) {
        let opens = matches!(t.len(), 4 | 6)
            && ["FROM", "JOIN", "INTO", "UPDATE"]
                .iter()
                .any(|k| t.eq_ignore_ascii_case(k));
        if !opens {
            continue;
        }
        let mut j = i;
        let Some(table) = token(sql, &mut j).and_then(Tbl::named) else {
            continue;
        };
        i = j;
        let mut next = token(sql, &mut j);
        if next.is_some_and(|n| n.eq_ignore_ascii_case("AS")) {
            i = j;
            next = token(sql, &mut j);
        }
        let alias = match next {
            Some(a) if is_word(a) && !NOT_ALIASES.iter().any(|k| a.eq_ignore_ascii_case(k)) => {
                i = j;
                a
            }
            _ => "",
        };
        out.push((table, alias));
    }
    out
}

/// Whether the reference aliased `alias` is bound to the tenant (following `Same`,
/// `Owner` and `Rows` links to a `Tenant` one, at most `depth` links).
fn bound(refs: &[Ref], alias: &str, depth: u8) -> bool {
    refs.iter()
        .filter(|r| r.alias == alias)
        .any(|r| match r.via {
            Via::Tenant => true,
            Via::Same(o) | Via::Owner(o) | Via::Rows(o) => depth > 0 && bound(refs, o, depth - 1),
            Via::Unbound => false,
        })
}

/// Checks the tenant rule; `Err` says what breaks it.
pub(super) fn verify(sql: &str, refs: &[Ref], scope: Scope<'_>) -> Result<(), String> {
    for (table, alias) in named_tables(sql) {
        if !refs.iter().any(|r| r.table == table && r.alias == alias) {
            return Err(format!(
                "table {} (alias {alias:?}) is named outside the statement layer",
                table.name()
            ));
        }
    }
    if let Scope::Across(_) = scope {
        return Ok(());
    }
    for r in refs.iter().filter(|r| r.table.is_tenant_table()) {
        if !bound(refs, r.alias, 8) {
            return Err(format!(
                "{} {} is not bound to the tenant",
                r.table.name(),
                if r.alias.is_empty() {
                    "(unqualified)".to_string()
                } else {
                    format!("aliased {}", r.alias)
                }
            ));
        }
    }
    Ok(())
}
