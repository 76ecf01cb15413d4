//! PostgreSQL's spelling of statements ([`Dialect`]): `$n` placeholders (JSON text cast to
//! `json` / `jsonb`), page sizes and lists bound (`LIMIT $n`, `= ANY($n)`: one statement
//! text, prepared once), ` FOR UPDATE` on rows a write transaction reads to write over.
//! Documents are `jsonb` read with `#>` / `#>>` (paths `'{"urn:...:User","department"}'`),
//! arrays iterated with `jsonb_path_query(.., 'lax $[*]') WITH ORDINALITY`, JSON types
//! checked with `jsonb_typeof` (inside `CASE` where a cast could fail), text compared and
//! sorted in the "C" collation (byte order, as SQLite), timestamps bound as `timestamptz`.
//!
//! The exact document `r.doc` is `json` (kept as written, for rendering); filters that need
//! it (caseExact strings, numbers, booleans, dateTimes) read `r.doc::jsonb`.

use crate::dialect::{Dialect, JPath, Words};
use crate::sql::Bind;
use scim_proto::filter::CompareOp;
use scim_proto::schema::AttrType;
use std::fmt::Write;
use time::OffsetDateTime;

/// PostgreSQL's [`Dialect`].
pub(crate) struct PgDialect;

/// The text-array literal of a JSON path, `'{"a","b"}'` (keys hold no quote or backslash:
/// see [`crate::filter::json_key`]).
pub(crate) fn path_lit(path: &JPath) -> String {
    let keys: Vec<String> = path.iter().map(|k| format!("\"{k}\"")).collect();
    format!("'{{{}}}'", keys.join(","))
}

/// Whether any non-null, non-empty scalar is found at any depth (`$.**` includes the root).
const ANY_ATOM: &str = "'strict $.** ? (@.type() == \"number\" || @.type() == \"boolean\" || (@.type() == \"string\" && @ != \"\"))'";

impl Dialect for PgDialect {
    fn words(&self) -> &'static Words {
        &Words::POSTGRES
    }
    fn placeholder(&self, out: &mut String, n: usize, b: &Bind) {
        let _ = write!(out, "${n}");
        match b {
            Bind::Json(_) | Bind::Null(crate::sql::Ty::Json) => out.push_str("::json"),
            Bind::Jsonb(_) => out.push_str("::jsonb"),
            _ => {}
        }
    }
    fn json_type_at(&self, base: &str, path: &JPath) -> (String, Bind, String) {
        (
            format!("jsonb_typeof({base} #> "),
            Bind::Texts(path.to_vec()),
            ")".into(),
        )
    }
    fn json_at(&self, base: &str, path: &JPath) -> String {
        format!("({base} #> {})", path_lit(path))
    }
    fn json_text_at(&self, base: &str, path: &JPath) -> String {
        format!("({base} #>> {})", path_lit(path))
    }
    fn elements(&self, base: &str, path: &JPath) -> String {
        // `lax $[*]`: the elements of an array, a lone non-array value as one element (as
        // SQLite's json_each), nothing when absent.
        format!(
            "jsonb_path_query({base} #> {}, 'lax $[*]') WITH ORDINALITY e(value, key)",
            path_lit(path)
        )
    }
    fn element_exact(&self, path: &JPath, sub: Option<&str>) -> String {
        let at = format!(
            "(({} #> {}) -> (e.key::int - 1))",
            self.doc(),
            path_lit(path)
        );
        match sub {
            None => at,
            Some(k) => format!("({at} -> '{k}')"),
        }
    }
    fn element_sub(&self, key: &str) -> String {
        format!("(e.value -> '{key}')")
    }
    fn primary_first(&self) -> String {
        "COALESCE((e.value -> 'primary') = 'true'::jsonb, false) DESC, e.key".to_string()
    }
    fn any_atom(&self, path: &JPath) -> String {
        format!(
            "COALESCE(jsonb_path_exists({}, {ANY_ATOM}), false)",
            self.json_at(self.doc(), path)
        )
    }
    fn presence(&self, x: &str, json: bool) -> String {
        if json {
            format!("({x} IS NOT NULL AND {x} <> 'null'::jsonb AND {x} <> '\"\"'::jsonb)")
        } else {
            format!("({x} IS NOT NULL AND ({x})::text <> '')")
        }
    }
    fn string_guard(&self, x: &str, json: bool, _op: CompareOp) -> Option<String> {
        // `#>> '{}'` gives the text of any JSON scalar: check it is a string, for `=` too.
        json.then(|| format!("jsonb_typeof({x}) = 'string'"))
    }
    fn text(&self, x: &str, json: bool) -> String {
        if json {
            format!("({x} #>> '{{}}')")
        } else {
            x.to_string()
        }
    }
    fn ends(&self, t: &str, n: usize) -> [String; 2] {
        [format!("left({t}, {n})"), format!("right({t}, {n})")]
    }
    fn bool_eq(&self, x: &str, json: bool, b: bool) -> String {
        if json {
            format!("({x} = '{b}'::jsonb)")
        } else {
            format!("({x} = {b})")
        }
    }
    fn number_op(&self, x: &str, json: bool, op: &str) -> (String, String) {
        if json {
            (
                format!("(CASE WHEN jsonb_typeof({x}) = 'number' THEN ({x})::numeric {op} "),
                "::numeric ELSE false END)".into(),
            )
        } else {
            (format!("({x} {op} "), "::numeric)".into())
        }
    }
    fn number_bind(&self, n: &serde_json::Number) -> Bind {
        // The literal's decimal text, compared as `numeric`: exact for any JSON number.
        Bind::Text(n.to_string())
    }
    fn instant_key(&self, x: &str) -> String {
        format!(
            "(substr({x}, 1, 19) || substr(CASE WHEN substr({x}, 20, 1) = '.' THEN substr({x}, 21, greatest(length({x}) - 21, 0)) ELSE '' END || '000000000', 1, 9))"
        )
    }
    fn time_text(&self, col: &str) -> String {
        format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
    }
    fn time_bind(&self, t: OffsetDateTime) -> Bind {
        Bind::Time(t)
    }
    fn sort_key(&self, x: &str, json: bool, ty: AttrType) -> String {
        if !json {
            return x.to_string();
        }
        match ty {
            AttrType::Integer | AttrType::Decimal => {
                format!("CASE WHEN jsonb_typeof({x}) = 'number' THEN ({x})::numeric END")
            }
            AttrType::Boolean => {
                format!("CASE WHEN jsonb_typeof({x}) = 'boolean' THEN ({x})::boolean END")
            }
            _ => self.text(x, true),
        }
    }
    fn sort_wrap(&self, x: String, ty: AttrType) -> String {
        if crate::filter::is_text(ty) || ty == AttrType::DateTime {
            format!("({x}) COLLATE \"C\"")
        } else {
            x
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_literals() {
        let p = vec![
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string(),
            "department".to_string(),
        ];
        assert_eq!(
            path_lit(&p),
            "'{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\",\"department\"}'"
        );
        assert_eq!(
            PgDialect.time_text("r.created"),
            "to_char(r.created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        );
    }
}
