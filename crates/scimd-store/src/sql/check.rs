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

/// The tokens of SQL text that matter here: identifiers (and keywords) and single
/// punctuation characters; string literals and blanks are skipped.
struct Tokens<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        loop {
            let c = *b.get(self.i)?;
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'\'' {
                // A string literal ('' inside is an escaped quote: two literals in a row).
                self.i += 1;
                while self.i < b.len() && b[self.i] != b'\'' {
                    self.i += 1;
                }
                self.i += 1;
            } else if c.is_ascii_alphanumeric() || c == b'_' {
                let start = self.i;
                while b
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    self.i += 1;
                }
                return Some(&self.s[start..self.i]);
            } else {
                let start = self.i;
                // Punctuation is ASCII in everything the store writes; step over any other
                // character whole.
                self.i += self.s[start..].chars().next().map_or(1, char::len_utf8);
                return Some(&self.s[start..self.i]);
            }
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
    let mut toks = Tokens { s: sql, i: 0 }.peekable();
    while let Some(t) = toks.next() {
        let opens = ["FROM", "JOIN", "INTO", "UPDATE"]
            .iter()
            .any(|k| t.eq_ignore_ascii_case(k));
        if !opens {
            continue;
        }
        let Some(table) = toks.peek().and_then(|n| Tbl::named(n)) else {
            continue;
        };
        toks.next();
        if toks.peek().is_some_and(|n| n.eq_ignore_ascii_case("AS")) {
            toks.next();
        }
        let alias = match toks.peek() {
            Some(a) if is_word(a) && !NOT_ALIASES.iter().any(|k| a.eq_ignore_ascii_case(k)) => {
                toks.next().unwrap_or("")
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
