//! SQLite's spelling of statements ([`Dialect`]): `?` placeholders, page sizes as
//! literals, lists bound item by item, no row locks (the write lock covers the database);
//! JSON through `json_extract`, `json_each`, `json_tree` and `json_type` (JSON paths
//! `$."key"`), SQL values typed with `typeof`, `0` / `1` for booleans, timestamps compared
//! as their stored text.

use crate::dialect::{Dialect, JPath, Words};
use crate::sql::Bind;
use crate::timefmt;
use scim_proto::filter::CompareOp;
use scim_proto::schema::AttrType;
use time::OffsetDateTime;

/// SQLite's [`Dialect`].
pub(crate) struct SqliteDialect;

/// An SQL string literal (the text has no `'`: see [`crate::filter::json_key`]).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `."key"` steps of a JSON path.
fn steps(path: &JPath) -> String {
    path.iter().map(|k| format!(".\"{k}\"")).collect()
}

/// The literal JSON path `'$."a"."b"'`.
fn path_lit(path: &JPath) -> String {
    lit(&format!("${}", steps(path)))
}

impl Dialect for SqliteDialect {
    fn words(&self) -> &'static Words {
        &Words::SQLITE
    }
    fn placeholder(&self, out: &mut String, _n: usize, _b: &Bind) {
        out.push('?');
    }
    fn json_type_at(&self, base: &str, path: &JPath) -> (String, Bind, String) {
        (
            format!("json_type({base}, "),
            Bind::Text(format!("${}", steps(path))),
            ")".into(),
        )
    }
    fn json_at(&self, base: &str, path: &JPath) -> String {
        format!("json_extract({base}, {})", path_lit(path))
    }
    fn json_text_at(&self, base: &str, path: &JPath) -> String {
        self.json_at(base, path)
    }
    fn elements(&self, base: &str, path: &JPath) -> String {
        format!("json_each({base}, {}) e", path_lit(path))
    }
    fn element_exact(&self, path: &JPath, sub: Option<&str>) -> String {
        let at = format!("{} || '[' || e.key || ']'", path_lit(path));
        match sub {
            None => format!("json_extract(r.doc, {at})"),
            Some(k) => format!("json_extract(r.doc, {at} || {})", lit(&format!(".\"{k}\""))),
        }
    }
    fn element_sub(&self, key: &str) -> String {
        // `e.value` of a non-object element is not JSON text: never json_extract it.
        format!(
            "CASE WHEN e.type = 'object' THEN json_extract(e.value, {}) END",
            lit(&format!("$.\"{key}\""))
        )
    }
    fn primary_first(&self) -> String {
        "CASE WHEN e.type = 'object' THEN json_extract(e.value, '$.\"primary\"') END = 1 DESC, e.key"
            .to_string()
    }
    fn any_atom(&self, path: &JPath) -> String {
        format!(
            "EXISTS (SELECT 1 FROM json_tree(r.doc, {}) t WHERE t.atom IS NOT NULL AND t.atom <> '')",
            path_lit(path)
        )
    }
    fn presence(&self, x: &str, _json: bool) -> String {
        format!("({x} IS NOT NULL AND {x} <> '')")
    }
    fn string_guard(&self, x: &str, json: bool, op: CompareOp) -> Option<String> {
        // `=` with a text literal is false for any other SQL type already.
        (json && op != CompareOp::Eq).then(|| format!("typeof({x}) = 'text'"))
    }
    fn text(&self, x: &str, _json: bool) -> String {
        x.to_string()
    }
    fn ends(&self, t: &str, n: usize) -> [String; 2] {
        [format!("substr({t}, 1, {n})"), format!("substr({t}, -{n})")]
    }
    fn bool_eq(&self, x: &str, _json: bool, b: bool) -> String {
        // json_extract reads JSON true / false as 1 / 0.
        format!("({x} = {})", u8::from(b))
    }
    fn number_op(&self, x: &str, json: bool, op: &str) -> (String, String) {
        let guard = if json {
            format!("typeof({x}) IN ('integer', 'real') AND ")
        } else {
            String::new()
        };
        (format!("({guard}{x} {op} "), ")".into())
    }
    fn number_bind(&self, n: &serde_json::Number) -> Bind {
        match n.as_i64() {
            Some(i) => Bind::Int(i),
            None => Bind::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }
    fn instant_key(&self, x: &str) -> String {
        format!(
            "(substr({x}, 1, 19) || substr(CASE WHEN substr({x}, 20, 1) = '.' THEN substr({x}, 21, length({x}) - 21) ELSE '' END || '000000000', 1, 9))"
        )
    }
    fn time_text(&self, col: &str) -> String {
        // Stored as text in the `timefmt` form already.
        col.to_string()
    }
    fn time_bind(&self, t: OffsetDateTime) -> Bind {
        Bind::Text(timefmt::format(t))
    }
    fn sort_key(&self, x: &str, _json: bool, _ty: AttrType) -> String {
        // SQLite orders mixed SQL types itself, text by bytes (BINARY collation).
        x.to_string()
    }
    fn sort_wrap(&self, x: String, _ty: AttrType) -> String {
        x
    }
}
