//! What differs in how SQLite and PostgreSQL spell a statement: placeholders and how
//! values, pages and lists are bound, row locks, and the JSON and text operations of filter
//! translation ([`crate::filter`]). One implementation per back end
//! (`sqlite::dialect::SqliteDialect`, `postgres::dialect::PgDialect`); everything else about
//! a statement is written once, in `crate::sql` and `crate::tx`.

use crate::filter::comparison_sql;
use crate::sql::Bind;
use scim_proto::filter::CompareOp;
use scim_proto::schema::AttrType;
use time::OffsetDateTime;

/// A JSON path into a document: object keys from the root, already checked by
/// [`crate::filter::json_key`].
pub(crate) type JPath = [String];

/// The constant words of a back end's SQL.
#[derive(Debug)]
pub(crate) struct Words {
    /// SQL for true.
    pub(crate) true_: &'static str,
    /// SQL for false.
    pub(crate) false_: &'static str,
    /// The exact document of `r`, as a JSON base for [`Dialect::json_at`].
    pub(crate) doc: &'static str,
    /// The NULL a sort by a constant attribute uses.
    pub(crate) null_sort_key: &'static str,
    /// What a write transaction appends to a `SELECT` of rows it will write over
    /// (PostgreSQL ` FOR UPDATE`; SQLite's write lock covers the whole database).
    pub(crate) lock_rows: &'static str,
    /// What a write transaction appends to a `SELECT` of a row that must not change until
    /// it ends, while others may read and share-lock it too (PostgreSQL ` FOR SHARE`).
    pub(crate) share_rows: &'static str,
    /// Whether `LIMIT` / `OFFSET` are written as literals (SQLite: a bound `LIMIT` makes it
    /// re-prepare the statement at every execution) rather than bound.
    pub(crate) literal_pages: bool,
    /// Whether a list of values is bound as one array (`x = ANY(?)`, PostgreSQL) rather
    /// than a placeholder per item (`x IN (?, ?)`).
    pub(crate) binds_arrays: bool,
    /// Whether text values (and so bound text) may hold NUL characters.
    pub(crate) text_holds_nul: bool,
    /// The function giving the position (from 1; 0 when absent) of text in text: `co`.
    pub(crate) position: &'static str,
    /// What text compared by an ordering operator is followed by, to compare by bytes
    /// (PostgreSQL ` COLLATE "C"`; SQLite's default collation compares bytes).
    pub(crate) text_order: &'static str,
}

/// Each back end's words, side by side.
impl Words {
    /// SQLite's constant words.
    pub(crate) const SQLITE: Words = Words {
        true_: "1",
        false_: "0",
        doc: "r.doc",
        null_sort_key: "NULL",
        // SQLite's write lock covers the whole database.
        lock_rows: "",
        share_rows: "",
        // A bound LIMIT is read while planning (SQLite 3.47 on) and marks the statement to be
        // re-prepared whenever it is bound again: a cached page statement was parsed anew at
        // every execution (docs/performance.md). The numbers are ours, never client text.
        literal_pages: true,
        binds_arrays: false,
        text_holds_nul: true,
        position: "instr",
        // The default collation, BINARY, compares bytes.
        text_order: "",
    };

    /// PostgreSQL's constant words.
    pub(crate) const POSTGRES: Words = Words {
        true_: "true",
        false_: "false",
        doc: "(r.doc::jsonb)",
        // A bare NULL is a constant, which PostgreSQL refuses in ORDER BY.
        null_sort_key: "NULL::text",
        lock_rows: " FOR UPDATE",
        share_rows: " FOR SHARE",
        literal_pages: false,
        binds_arrays: true,
        text_holds_nul: false,
        position: "strpos",
        text_order: " COLLATE \"C\"",
    };
}

/// The SQL a back end writes for what the two spell differently.
///
/// "JSON expressions" below are what [`Dialect::json_at`] returns: in SQLite an SQL value
/// (`json_extract` gives text, integer, real, NULL), in PostgreSQL a `jsonb` value. Column
/// expressions (`r.id`, `ue.kind` ...) are plain SQL values in both.
pub(crate) trait Dialect: Sync {
    /// The back end's constant words.
    fn words(&self) -> &'static Words;
    /// SQL for true.
    fn true_(&self) -> &'static str {
        self.words().true_
    }
    /// SQL for false.
    fn false_(&self) -> &'static str {
        self.words().false_
    }
    /// The exact document of `r` (see [`Words::doc`]).
    fn doc(&self) -> &'static str {
        self.words().doc
    }
    /// Appends the placeholder of the `n`th bound value (from 1), which is `b` (SQLite `?`;
    /// PostgreSQL `$n`, with the cast a JSON text needs).
    fn placeholder(&self, out: &mut String, n: usize, b: &Bind);
    /// The JSON type name of the value at `path` of the JSON base `base` (`'null'` for a
    /// JSON null, NULL when absent), with the path bound: SQL before and after the
    /// placeholder, and its value (any key but one holding `"` or `\\`).
    fn json_type_at(&self, base: &str, path: &JPath) -> (String, Bind, String);
    /// The JSON value at `path` of the JSON base `base` (NULL when absent).
    fn json_at(&self, base: &str, path: &JPath) -> String;
    /// The text of the JSON value at `path` of `base`, for values known to be strings.
    fn json_text_at(&self, base: &str, path: &JPath) -> String;
    /// A FROM item iterating the elements of the JSON array at `path` of `base`, aliased
    /// `e` with columns `value` (a JSON expression) and `key` (the position, ascending).
    fn elements(&self, base: &str, path: &JPath) -> String;
    /// The value of element `e` of the array at `path` of the exact document (its
    /// sub-attribute `sub` when given).
    fn element_exact(&self, path: &JPath, sub: Option<&str>) -> String;
    /// Sub-attribute `key` of element `e` (NULL when `e` is not an object).
    fn element_sub(&self, key: &str) -> String;
    /// `ORDER BY` terms putting the element `e` flagged `"primary": true` first.
    fn primary_first(&self) -> String;
    /// Whether the JSON value at `path` of the exact document holds any non-null,
    /// non-empty scalar, at any depth.
    fn any_atom(&self, path: &JPath) -> String;
    /// `x` (JSON when `json`) holds a value: not NULL / JSON null, not `""`.
    fn presence(&self, x: &str, json: bool) -> String;
    /// A condition that `x` (JSON) is a string, to guard text operations, when needed for
    /// `op` (`None`: no guard needed).
    fn string_guard(&self, x: &str, json: bool, op: CompareOp) -> Option<String>;
    /// The text of `x` (JSON when `json`).
    fn text(&self, x: &str, json: bool) -> String;
    /// The first and the last `n` characters of text `t`: `sw` and `ew` compare them.
    fn ends(&self, t: &str, n: usize) -> [String; 2];
    /// `text op ?` as SQL before and after the placeholder, for text `t` and a literal of
    /// `n` characters (`co`, `sw`, `ew`, or an ordering / equality operator).
    fn text_op(&self, t: &str, op: CompareOp, n: usize) -> (String, String) {
        let w = self.words();
        let before = match op {
            CompareOp::Co => return (format!("{}({t}, ", w.position), ") > 0".into()),
            CompareOp::Sw | CompareOp::Ew => {
                let [first, last] = self.ends(t, n);
                format!("{} = ", if op == CompareOp::Sw { first } else { last })
            }
            CompareOp::Eq | CompareOp::Ne => format!("{t} {} ", comparison_sql(op)),
            _ => format!("{t}{} {} ", w.text_order, comparison_sql(op)),
        };
        (before, String::new())
    }
    /// `x = b` for a boolean `x` (JSON when `json`).
    fn bool_eq(&self, x: &str, json: bool, b: bool) -> String;
    /// `x op ?` for a number `x` (JSON when `json`), as SQL before and after the placeholder.
    fn number_op(&self, x: &str, json: bool, op: &str) -> (String, String);
    /// The bound value of a number literal in [`Dialect::number_op`]. One statement text
    /// must always bind one type (statements are prepared and cached by their text).
    fn number_bind(&self, n: &serde_json::Number) -> Bind;
    /// The fixed-width instant key ([`crate::timefmt::instant_key`]) of dateTime text `t`.
    fn instant_key(&self, t: &str) -> String;
    /// A timestamp column's text in the form `crate::timefmt` stores (for text operators).
    fn time_text(&self, col: &str) -> String;
    /// The bound value comparing with a timestamp column (microsecond precision).
    fn time_bind(&self, t: OffsetDateTime) -> Bind;
    /// The sort key of `x` (JSON when `json`) of type `ty`; `folded_text` when `x` is a
    /// case-insensitive string's folded form.
    fn sort_key(&self, x: &str, json: bool, ty: AttrType) -> String;
    /// Wraps a finished sort expression of type `ty` (binary text order for strings).
    fn sort_wrap(&self, x: String, ty: AttrType) -> String;
}
