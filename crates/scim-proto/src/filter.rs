//! The SCIM filter grammar (RFC 7644 §3.4.2.2): parse to an AST, evaluate in memory.
//!
//! Parsing is hand-written recursive descent with depth and length limits; every
//! error is a 400 `invalidFilter` (or `invalidPath` for PATCH paths) naming the
//! position. Storage back ends translate the AST to SQL; [`matches()`] is the
//! reference semantics they must agree with.
//!
//! # Grammar (RFC 7644 §3.4.2.2, Figure 1; §3.5.2 for PATCH paths)
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string     ; JSON (RFC 7159)
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ATTRNAME  = ALPHA *(nameChar)   ; plus "$ref"
//! nameChar  = "-" / "_" / DIGIT / ALPHA
//! subAttr   = "." ATTRNAME
//! PATH      = attrPath / valuePath [subAttr]             ; PATCH (§3.5.2)
//! ```
//!
//! Precedence, highest first: grouping `( )`, `not`, `and`, `or`; `and` and `or` are
//! left-associative. Keywords (operators, `and`, `or`, `not`, `pr`, `true`, `false`,
//! `null`) are case-insensitive; attribute names keep their spelling. A schema URI prefix
//! is everything before the *last* `:` of the path (schema URNs contain dots, e.g. `2.0`).
//!
//! Leniencies beyond the ABNF: any run of spaces, tabs, CR or LF separates tokens and
//! may surround the whole filter; no space is needed next to `(`, `)`, `[`, `]` or
//! between an operator and a quoted string; `emails[type eq "work"].value eq "x"` is
//! read as `emails[type eq "work" and value eq "x"]`.
//!
//! Error details have the form `invalid filter at position N: expected ..., found ...`
//! where `N` is a **1-based character (not byte) offset** into the string given.

use crate::error::{ScimError, ScimResult, ScimType};
use crate::path::{AttrPath, PatchPath};
use crate::schema::{AttrType, AttributeDef, Resolved, ResourceSchema};
use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

/// Maximum length of a filter string in bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;
/// Maximum nesting depth of parentheses, `not` and valuePaths.
pub const MAX_FILTER_DEPTH: usize = 32;

/// A comparison operator (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co`
    Co,
    /// `sw`
    Sw,
    /// `ew`
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// Every operator, in RFC 7644 Table 3 order.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator keyword in lower case, e.g. `"eq"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator for a keyword, compared case-insensitively (`"EQ"` → `Eq`); `None`
    /// for anything else (including `pr`, which is not a comparison).
    pub fn from_keyword(s: &str) -> Option<CompareOp> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether this is an ordering operator (`gt`, `ge`, `lt`, `le`), which RFC 7644
    /// Table 3 forbids on boolean and binary attributes.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison literal: `null`, `true`/`false`, a JSON number, or a JSON string
/// (escapes already decoded).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string, unescaped.
    String(String),
}

/// Renders the literal as JSON: `null`, `true`, `42`, `"a \"b\""` (re-parses to itself).
impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => {
                // serde_json never fails to serialise a string.
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath op value`
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal.
        value: CompValue,
    },
    /// `attrPath pr`
    Present(AttrPath),
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`
    Not(Box<Filter>),
    /// `attrPath[valFilter]`: `attr` names a multi-valued attribute (its `sub_attr` is
    /// `None`); paths inside `filter` are relative to one element of it.
    ValuePath {
        /// The multi-valued attribute.
        attr: AttrPath,
        /// The filter applied to each of its elements.
        filter: Box<Filter>,
    },
}

/// Renders `[uri ":"] attr ["." sub]`, e.g.
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl Filter {
    /// Binding strength: `or` 1, `and` 2, everything else 3.
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }

    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            f.write_str("(")?;
            self.fmt_prec(f, 0)?;
            return f.write_str(")");
        }
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) => {
                a.fmt_prec(f, 2)?;
                f.write_str(" and ")?;
                b.fmt_prec(f, 3)
            }
            Filter::Or(a, b) => {
                a.fmt_prec(f, 1)?;
                f.write_str(" or ")?;
                b.fmt_prec(f, 2)
            }
            Filter::Not(a) => {
                f.write_str("not (")?;
                a.fmt_prec(f, 0)?;
                f.write_str(")")
            }
            Filter::ValuePath { attr, filter } => {
                write!(f, "{attr}[")?;
                filter.fmt_prec(f, 0)?;
                f.write_str("]")
            }
        }
    }
}

/// Renders a canonical filter string: lower-case keywords, single spaces, JSON literals,
/// parentheses only where precedence needs them, `not (...)` always parenthesised.
/// [`parse`] of the output yields an equal AST.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_prec(f, 0)
    }
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

/// Whitespace between tokens (lenient: space, tab, CR, LF, FF).
fn is_ws(c: char) -> bool {
    c.is_ascii_whitespace()
}

/// Characters that end a word (an attribute path, operator, keyword or bare literal).
fn is_delim(c: char) -> bool {
    is_ws(c) || matches!(c, '(' | ')' | '[' | ']' | '"')
}

/// Shortens `s` to at most `max` characters for an error message (char-boundary safe).
fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the cursor; always on a char boundary.
    pos: usize,
    depth: usize,
    /// `"filter"` or `"path"`, for error messages.
    label: &'static str,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, label: &'static str) -> Self {
        Parser {
            src,
            pos: 0,
            depth: 0,
            label,
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// Skips whitespace; returns whether any was skipped.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !is_ws(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        self.pos > start
    }

    /// The word (maximal run of non-delimiters) at the cursor, without consuming it.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let end = rest.find(is_delim).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Consumes and returns the word at the cursor with its byte offset.
    fn read_word(&mut self) -> (usize, &'a str) {
        let start = self.pos;
        let w = self.peek_word();
        self.pos += w.len();
        (start, w)
    }

    /// 1-based character position of byte offset `at`.
    fn char_pos(&self, at: usize) -> usize {
        let at = at.min(self.src.len());
        // `at` is always a char boundary (it comes from the cursor or from a char
        // index); fall back to a safe count if it were not.
        self.src
            .get(..at)
            .map(|s| s.chars().count())
            .unwrap_or_else(|| self.src.char_indices().take_while(|(i, _)| *i < at).count())
            + 1
    }

    fn err(&self, kind: ScimType, at: usize, msg: impl fmt::Display) -> ScimError {
        ScimError::bad_request(
            kind,
            format!(
                "invalid {} at position {}: {}",
                self.label,
                self.char_pos(at),
                msg
            ),
        )
    }

    fn ferr(&self, at: usize, msg: impl fmt::Display) -> ScimError {
        self.err(ScimType::InvalidFilter, at, msg)
    }

    /// Describes what is at byte offset `at`, for "found ..." in messages.
    fn describe_at(&self, at: usize) -> String {
        let rest = self.src.get(at..).unwrap_or("");
        match rest.chars().next() {
            None => "end of input".to_string(),
            Some('"') => {
                // Show the literal as written, up to its closing quote if there is one.
                let mut end = rest.len();
                let mut escaped = false;
                for (i, c) in rest.char_indices().skip(1) {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = i + 1;
                        break;
                    }
                }
                format!("the string {}", clip(&rest[..end], 40))
            }
            Some(c) if is_delim(c) => {
                if is_ws(c) {
                    "whitespace".to_string()
                } else {
                    format!("'{c}'")
                }
            }
            Some(_) => {
                let end = rest.find(is_delim).unwrap_or(rest.len());
                format!("'{}'", clip(&rest[..end], 40))
            }
        }
    }

    fn enter(&mut self, at: usize) -> ScimResult<()> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(self.ferr(
                at,
                format!(
                    "filter nests more than {MAX_FILTER_DEPTH} levels of parentheses, 'not' and value paths"
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- paths ----------------------------------------------------------------------

    /// Checks `name` (at byte offset `at`) against `ATTRNAME = ALPHA *(nameChar)` / `$ref`.
    fn check_attr_name(&self, kind: ScimType, name: &str, at: usize, what: &str) -> ScimResult<()> {
        if name.eq_ignore_ascii_case("$ref") {
            return Ok(());
        }
        let mut chars = name.char_indices();
        match chars.next() {
            None => {
                return Err(self.err(
                    kind,
                    at,
                    format!("expected {what}, found {}", self.describe_at(at)),
                ))
            }
            Some((_, c)) if c.is_ascii_alphabetic() => {}
            Some((_, c)) => {
                return Err(self.err(
                    kind,
                    at,
                    format!(
                        "{what} must start with a letter (or be '$ref'), found '{c}' in '{}'",
                        clip(name, 40)
                    ),
                ))
            }
        }
        for (i, c) in chars {
            if !(c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(self.err(
                    kind,
                    at + i,
                    format!(
                        "invalid character '{c}' in attribute name '{}' (allowed: letters, digits, '-', '_')",
                        clip(name, 40)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Parses an attribute path token `tok` found at byte offset `at`.
    fn path_from_token(&self, kind: ScimType, tok: &str, at: usize) -> ScimResult<AttrPath> {
        if tok.is_empty() {
            return Err(self.err(
                kind,
                at,
                format!("expected an attribute path, found {}", self.describe_at(at)),
            ));
        }
        let (uri, rest, rest_at) = match tok.rfind(':') {
            Some(i) => {
                let uri = &tok[..i];
                if !uri.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    return Err(self.err(
                        kind,
                        at,
                        format!("expected a schema URI before ':' in '{}'", clip(tok, 60)),
                    ));
                }
                (Some(uri.to_string()), &tok[i + 1..], at + i + 1)
            }
            None => (None, tok, at),
        };
        let (attr, sub) = match rest.find('.') {
            Some(d) => (&rest[..d], Some((&rest[d + 1..], rest_at + d + 1))),
            None => (rest, None),
        };
        let what = if uri.is_some() {
            "an attribute name after the schema URI"
        } else {
            "an attribute name"
        };
        self.check_attr_name(kind, attr, rest_at, what)?;
        let sub_attr = match sub {
            None => None,
            Some((s, s_at)) => {
                if let Some(d2) = s.find('.') {
                    return Err(self.err(
                        kind,
                        s_at + d2,
                        format!(
                            "only one level of sub-attribute is allowed in '{}'",
                            clip(tok, 60)
                        ),
                    ));
                }
                self.check_attr_name(kind, s, s_at, "a sub-attribute name after '.'")?;
                Some(s.to_string())
            }
        };
        Ok(AttrPath {
            uri,
            attr: attr.to_string(),
            sub_attr,
        })
    }

    // ---- filters --------------------------------------------------------------------

    /// `or`-level: `and_expr *("or" and_expr)`, left-associative.
    fn parse_or(&mut self, in_vp: bool) -> ScimResult<Filter> {
        let mut left = self.parse_and(in_vp)?;
        loop {
            self.skip_ws();
            if self.peek_word().eq_ignore_ascii_case("or") {
                self.pos += 2;
                let right = self.parse_and(in_vp)?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    /// `and`-level: `primary *("and" primary)`, left-associative.
    fn parse_and(&mut self, in_vp: bool) -> ScimResult<Filter> {
        let mut left = self.parse_primary(in_vp)?;
        loop {
            self.skip_ws();
            if self.peek_word().eq_ignore_ascii_case("and") {
                self.pos += 3;
                let right = self.parse_primary(in_vp)?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    /// Consumes `close` after skipping whitespace, or fails naming the opener at `open_at`.
    fn expect_close(&mut self, close: char, open: char, open_at: usize) -> ScimResult<()> {
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        let expected = if close == ')' {
            "'and', 'or' or ')'"
        } else {
            "'and', 'or' or ']'"
        };
        Err(self.ferr(
            self.pos,
            format!(
                "expected {expected} to close the '{open}' at position {}, found {}",
                self.char_pos(open_at),
                self.describe_at(self.pos)
            ),
        ))
    }

    /// A grouping, `not (...)`, or an attribute expression / valuePath.
    fn parse_primary(&mut self, in_vp: bool) -> ScimResult<Filter> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some('(') => {
                self.enter(start)?;
                self.pos += 1;
                let inner = self.parse_or(in_vp)?;
                self.expect_close(')', '(', start)?;
                self.leave();
                Ok(inner)
            }
            None | Some(')' | ']' | '[' | '"') => Err(self.ferr(
                start,
                format!(
                    "expected an attribute path, '(' or 'not', found {}",
                    self.describe_at(start)
                ),
            )),
            Some(_) => {
                if self.peek_word().eq_ignore_ascii_case("not") {
                    self.pos += 3;
                    self.skip_ws();
                    let paren = self.pos;
                    if self.peek() != Some('(') {
                        return Err(self.ferr(
                            paren,
                            format!(
                                "expected '(' after 'not' (RFC 7644 requires 'not (filter)'), found {}",
                                self.describe_at(paren)
                            ),
                        ));
                    }
                    self.enter(start)?;
                    self.pos += 1;
                    let inner = self.parse_or(in_vp)?;
                    self.expect_close(')', '(', paren)?;
                    self.leave();
                    Ok(Filter::Not(Box::new(inner)))
                } else {
                    self.parse_attr_exp(in_vp)
                }
            }
        }
    }

    /// `attrPath SP "pr"`, `attrPath SP op SP value`, or `attrPath "[" valFilter "]"`.
    fn parse_attr_exp(&mut self, in_vp: bool) -> ScimResult<Filter> {
        let (at, tok) = self.read_word();
        let path = self.path_from_token(ScimType::InvalidFilter, tok, at)?;
        if self.peek() != Some('[') {
            return self.parse_attr_tail(path, tok);
        }
        let open = self.pos;
        if in_vp {
            return Err(self.ferr(
                open,
                "a value filter '[...]' cannot be nested inside another value filter",
            ));
        }
        if path.sub_attr.is_some() {
            return Err(self.ferr(
                open,
                format!(
                    "a value filter '[...]' must follow an attribute name, not the sub-attribute path '{}'",
                    clip(tok, 60)
                ),
            ));
        }
        self.enter(open)?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(']') {
            return Err(self.ferr(self.pos, "empty value filter '[]'"));
        }
        let mut inner = self.parse_or(true)?;
        self.expect_close(']', '[', open)?;
        // Leniency: `emails[type eq "work"].value eq "x"` means
        // `emails[type eq "work" and value eq "x"]`.
        if self.peek() == Some('.') {
            self.pos += 1;
            let (sat, sub) = self.read_word();
            self.check_attr_name(
                ScimType::InvalidFilter,
                sub,
                sat,
                "a sub-attribute name after '].'",
            )?;
            let sub_path = AttrPath {
                uri: None,
                attr: sub.to_string(),
                sub_attr: None,
            };
            let label = format!("{tok}[...].{sub}");
            let tail = self.parse_attr_tail(sub_path, &label)?;
            inner = Filter::And(Box::new(inner), Box::new(tail));
        }
        self.leave();
        Ok(Filter::ValuePath {
            attr: path,
            filter: Box::new(inner),
        })
    }

    /// The operator (and value) after an attribute path written as `path_text`.
    fn parse_attr_tail(&mut self, path: AttrPath, path_text: &str) -> ScimResult<Filter> {
        self.skip_ws();
        let (op_at, op_word) = self.read_word();
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(op_word) else {
            return Err(self.ferr(
                op_at,
                format!(
                    "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le) or 'pr' after '{}', found {}",
                    clip(path_text, 60),
                    self.describe_at(op_at)
                ),
            ));
        };
        self.skip_ws();
        let value = self.parse_value(op_word)?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `compValue = false / null / true / number / string`.
    fn parse_value(&mut self, op_word: &str) -> ScimResult<CompValue> {
        let at = self.pos;
        let expected = "a value (a quoted string, a number, true, false or null)";
        match self.peek() {
            Some('"') => self.read_string().map(CompValue::String),
            None => Err(self.ferr(
                at,
                format!("expected {expected} after '{op_word}', found end of input"),
            )),
            Some(c) if is_delim(c) => Err(self.ferr(
                at,
                format!(
                    "expected {expected} after '{op_word}', found {}",
                    self.describe_at(at)
                ),
            )),
            Some(c) => {
                let (_, w) = self.read_word();
                if w.eq_ignore_ascii_case("true") {
                    Ok(CompValue::Bool(true))
                } else if w.eq_ignore_ascii_case("false") {
                    Ok(CompValue::Bool(false))
                } else if w.eq_ignore_ascii_case("null") {
                    Ok(CompValue::Null)
                } else if c == '-' || c.is_ascii_digit() {
                    self.number(w, at).map(CompValue::Number)
                } else {
                    Err(self.ferr(
                        at,
                        format!(
                            "expected {expected} after '{op_word}', found '{}' (string values must be in double quotes)",
                            clip(w, 40)
                        ),
                    ))
                }
            }
        }
    }

    /// A JSON number (RFC 8259 §6): `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&self, w: &str, at: usize) -> ScimResult<serde_json::Number> {
        let b = w.as_bytes();
        let mut i = 0;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > s
        };
        let mut ok = true;
        if i < b.len() && b[i] == b'-' {
            i += 1;
        }
        if i < b.len() && b[i] == b'0' {
            i += 1;
        } else {
            ok &= digits(&mut i);
        }
        if ok && i < b.len() && b[i] == b'.' {
            i += 1;
            ok &= digits(&mut i);
        }
        if ok && i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            ok &= digits(&mut i);
        }
        if !ok || i != b.len() {
            return Err(self.ferr(
                at,
                format!(
                    "invalid number '{}' (expected a JSON number such as 42, -1.5 or 2e10)",
                    clip(w, 40)
                ),
            ));
        }
        // Integers stay exact where they fit; everything else is a correctly rounded f64
        // (str::parse, unlike serde_json's default parser, round-trips every f64).
        let is_int = !w.contains(['.', 'e', 'E']);
        if is_int {
            if let Ok(i) = w.parse::<i64>() {
                return Ok(i.into());
            }
            if let Ok(u) = w.parse::<u64>() {
                return Ok(u.into());
            }
        }
        w.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .ok_or_else(|| self.ferr(at, format!("number '{}' is out of range", clip(w, 40))))
    }

    /// A JSON string literal at the cursor (which is on the opening quote).
    fn read_string(&mut self) -> ScimResult<String> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let at = self.pos;
            let Some(c) = self.peek() else {
                return Err(self.ferr(open, "unterminated string literal (missing closing '\"')"));
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(
                            self.ferr(open, "unterminated string literal (missing closing '\"')")
                        );
                    };
                    self.pos += e.len_utf8();
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hi = self.hex4(at)?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if !self.rest().starts_with("\\u") {
                                    return Err(self.ferr(
                                        at,
                                        "a \\u high surrogate must be followed by a \\u low surrogate",
                                    ));
                                }
                                self.pos += 2;
                                let lo = self.hex4(at)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.ferr(
                                        at,
                                        "a \\u high surrogate must be followed by a \\u low surrogate",
                                    ));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.ferr(at, "unpaired \\u low surrogate"));
                            } else {
                                hi
                            };
                            match char::from_u32(cp) {
                                Some(ch) => out.push(ch),
                                None => return Err(self.ferr(at, "invalid \\u escape")),
                            }
                        }
                        other => {
                            return Err(self.ferr(
                                at,
                                format!(
                                    "invalid escape '\\{other}' in string (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"
                                ),
                            ))
                        }
                    }
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.ferr(
                        at,
                        format!(
                            "control character U+{:04X} in string must be escaped",
                            c as u32
                        ),
                    ))
                }
                c => out.push(c),
            }
        }
    }

    /// Four hex digits after `\u`; `esc_at` is the backslash, for messages.
    fn hex4(&mut self, esc_at: usize) -> ScimResult<u32> {
        let rest = self.rest();
        let hex = rest
            .get(..4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        match hex {
            Some(h) => {
                self.pos += 4;
                u32::from_str_radix(h, 16).map_err(|_| self.ferr(esc_at, "invalid \\u escape"))
            }
            None => Err(self.ferr(esc_at, "invalid \\u escape: expected four hex digits")),
        }
    }
}

/// Fails with `kind` when `input` is longer than [`MAX_FILTER_LEN`] bytes.
fn check_len(input: &str, kind: ScimType, what: &str) -> ScimResult<()> {
    if input.len() > MAX_FILTER_LEN {
        return Err(ScimError::bad_request(
            kind,
            format!(
                "{what} is {} bytes long; the maximum is {MAX_FILTER_LEN}",
                input.len()
            ),
        ));
    }
    Ok(())
}

/// Parses a filter string (RFC 7644 §3.4.2.2) into a [`Filter`].
///
/// Leading and trailing whitespace is ignored. Keywords are case-insensitive; string
/// literals are JSON strings (all escapes, `\uXXXX` with surrogate pairs); numbers are
/// JSON numbers. Strings like `"True"` stay [`CompValue::String`] (evaluation treats them
/// as booleans against boolean attributes).
///
/// Errors: 400 `invalidFilter` with detail
/// `invalid filter at position N: expected ..., found ...` (N is a 1-based character
/// offset) for any syntax error, an input over [`MAX_FILTER_LEN`] bytes, or nesting over
/// [`MAX_FILTER_DEPTH`]. Never panics; runs in time linear in the input.
pub fn parse(input: &str) -> ScimResult<Filter> {
    check_len(input, ScimType::InvalidFilter, "filter")?;
    let mut p = Parser::new(input, "filter");
    p.skip_ws();
    if p.at_end() {
        return Err(p.ferr(p.pos, "empty filter"));
    }
    let f = p.parse_or(false)?;
    p.skip_ws();
    if !p.at_end() {
        let msg = match p.peek() {
            Some(')') => "unmatched ')' (no '(' to close)".to_string(),
            Some(']') => "unmatched ']' (no '[' to close)".to_string(),
            _ => format!(
                "expected 'and', 'or' or end of filter, found {}",
                p.describe_at(p.pos)
            ),
        };
        return Err(p.ferr(p.pos, msg));
    }
    Ok(f)
}

/// Parses an attribute path (used by [`AttrPath::parse`]). Errors: 400 invalidPath.
///
/// Grammar: `[URI ":"] ATTRNAME ["." subAttr]` (RFC 7644 §3.10), surrounding whitespace
/// ignored. The URI is everything before the last `:`. Detail:
/// `invalid path at position N: ...` (1-based character offset).
pub fn parse_attr_path(input: &str) -> ScimResult<AttrPath> {
    check_len(input, ScimType::InvalidPath, "path")?;
    let mut p = Parser::new(input, "path");
    p.skip_ws();
    if p.at_end() {
        return Err(p.err(ScimType::InvalidPath, p.pos, "empty attribute path"));
    }
    let (at, tok) = p.read_word();
    let path = p.path_from_token(ScimType::InvalidPath, tok, at)?;
    p.skip_ws();
    if !p.at_end() {
        return Err(p.err(
            ScimType::InvalidPath,
            p.pos,
            format!("unexpected {} after attribute path", p.describe_at(p.pos)),
        ));
    }
    Ok(path)
}

/// Parses a PATCH path (used by [`PatchPath::parse`]). Errors: 400 invalidPath / invalidFilter.
///
/// Grammar (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`, e.g. `members`,
/// `name.givenName`, `emails[type eq "work"].value`,
/// `urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value`.
/// A `]` inside a string literal of the value filter does not close it.
///
/// Errors: 400 `invalidPath` for a malformed path (bad name, sub-attribute before `[`,
/// missing `]`, trailing text); 400 `invalidFilter` for a malformed filter inside `[...]`.
/// Positions are 1-based character offsets into `input`.
pub fn parse_patch_path(input: &str) -> ScimResult<PatchPath> {
    check_len(input, ScimType::InvalidPath, "path")?;
    let mut p = Parser::new(input, "path");
    p.skip_ws();
    if p.at_end() {
        return Err(p.err(ScimType::InvalidPath, p.pos, "empty path"));
    }
    let (at, tok) = p.read_word();
    let attr = p.path_from_token(ScimType::InvalidPath, tok, at)?;
    let mut filter = None;
    let mut sub_attr_after_filter = None;
    if p.peek() == Some('[') {
        let open = p.pos;
        if attr.sub_attr.is_some() {
            return Err(p.err(
                ScimType::InvalidPath,
                open,
                format!(
                    "a value filter '[...]' must follow an attribute name, not the sub-attribute path '{}'",
                    clip(tok, 60)
                ),
            ));
        }
        p.depth = 1;
        p.pos += 1;
        p.skip_ws();
        if p.peek() == Some(']') {
            return Err(p.err(ScimType::InvalidFilter, p.pos, "empty value filter '[]'"));
        }
        filter = Some(p.parse_or(true)?);
        p.skip_ws();
        if p.peek() != Some(']') {
            return Err(p.err(
                ScimType::InvalidPath,
                p.pos,
                format!(
                    "expected 'and', 'or' or ']' to close the '[' at position {}, found {}",
                    p.char_pos(open),
                    p.describe_at(p.pos)
                ),
            ));
        }
        p.pos += 1;
        if p.peek() == Some('.') {
            p.pos += 1;
            let (sat, sub) = p.read_word();
            p.check_attr_name(
                ScimType::InvalidPath,
                sub,
                sat,
                "a sub-attribute name after '].'",
            )?;
            sub_attr_after_filter = Some(sub.to_string());
        }
    }
    p.skip_ws();
    if !p.at_end() {
        return Err(p.err(
            ScimType::InvalidPath,
            p.pos,
            format!("unexpected {} after path", p.describe_at(p.pos)),
        ));
    }
    Ok(PatchPath {
        attr,
        filter,
        sub_attr_after_filter,
    })
}

// ---------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------

/// The member `key` of `obj`, exact spelling first, then ASCII case-insensitively.
fn get_ci<'v>(obj: &'v Value, key: &str) -> Option<&'v Value> {
    let map = obj.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Whether `v` holds a value: not null, not `""`, not an array or object without values.
fn has_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(has_value),
        Value::Object(o) => o.values().any(has_value),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The elements of a multi-valued value, or the value itself.
fn items(raw: Option<&Value>) -> impl Iterator<Item = &Value> {
    let slice: &[Value] = match raw {
        None => &[],
        Some(Value::Array(a)) => a,
        Some(v) => std::slice::from_ref(v),
    };
    slice.iter()
}

/// Pushes the non-null scalar values of `v` (flattening one array level).
fn push_flat<'v>(out: &mut Vec<&'v Value>, v: &'v Value) {
    match v {
        Value::Null => {}
        Value::Array(a) => out.extend(a.iter().filter(|x| !x.is_null())),
        other => out.push(other),
    }
}

/// What a path designates in one document: the definition governing comparisons, the
/// values compared, and whether anything is present (`pr`).
struct Target<'a> {
    /// `None` for a complex attribute without a `value` sub-attribute.
    def: Option<&'a AttributeDef>,
    leaves: Vec<&'a Value>,
    present: bool,
}

/// The target of attribute `attr` (with optional `sub`) whose raw value is `raw`.
fn target_of<'a>(
    attr: &'a AttributeDef,
    sub: Option<&'a AttributeDef>,
    raw: Option<&'a Value>,
) -> Target<'a> {
    let mut leaves = Vec::new();
    match sub {
        Some(s) => {
            for item in items(raw) {
                if let Some(v) = get_ci(item, &s.name) {
                    push_flat(&mut leaves, v);
                }
            }
            let present = leaves.iter().any(|v| has_value(v));
            Target {
                def: Some(s),
                leaves,
                present,
            }
        }
        None => {
            let present = raw.is_some_and(has_value);
            if attr.ty == AttrType::Complex {
                let def = attr.sub("value");
                if let Some(vd) = def {
                    for item in items(raw) {
                        if let Some(v) = get_ci(item, &vd.name) {
                            push_flat(&mut leaves, v);
                        }
                    }
                }
                Target {
                    def,
                    leaves,
                    present,
                }
            } else {
                if let Some(v) = raw {
                    push_flat(&mut leaves, v);
                }
                Target {
                    def: Some(attr),
                    leaves,
                    present,
                }
            }
        }
    }
}

/// The raw value of resolved attribute `r` in resource document `doc`.
fn lookup<'v>(doc: &'v Value, r: &Resolved<'_>) -> Option<&'v Value> {
    if r.is_extension {
        get_ci(doc, r.schema_urn).and_then(|c| get_ci(c, &r.attr.name))
    } else {
        get_ci(doc, &r.attr.name)
    }
}

/// Where filter paths are resolved: a whole resource, or one element of an attribute.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a ResourceSchema),
    Element(&'a AttributeDef),
}

/// Resolves `path` relative to one element of `attr`: a sub-attribute of a complex
/// attribute (optionally with its own sub-attribute), or `value` for a simple one.
fn element_defs<'a>(
    attr: &'a AttributeDef,
    path: &AttrPath,
) -> Option<(&'a AttributeDef, Option<&'a AttributeDef>)> {
    if path.uri.is_some() {
        return None;
    }
    if attr.ty == AttrType::Complex {
        let s = attr.sub(&path.attr)?;
        let ss = match &path.sub_attr {
            None => None,
            Some(n) => Some(s.sub(n)?),
        };
        Some((s, ss))
    } else if path.attr.eq_ignore_ascii_case("value") && path.sub_attr.is_none() {
        Some((attr, None))
    } else {
        None
    }
}

fn target<'a>(scope: Scope<'a>, doc: &'a Value, path: &AttrPath) -> Option<Target<'a>> {
    match scope {
        Scope::Resource(schema) => {
            let r = schema.resolve_any(path)?;
            Some(target_of(r.attr, r.sub, lookup(doc, &r)))
        }
        Scope::Element(attr) => {
            let (a, s) = element_defs(attr, path)?;
            let raw = if attr.ty == AttrType::Complex {
                get_ci(doc, &a.name)
            } else {
                Some(doc)
            };
            Some(target_of(a, s, raw))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

/// The case fold used for every case-insensitive string comparison (RFC 7643 §2.1,
/// `caseExact: false`): Unicode lower-casing with [`str::to_lowercase`]. Storage layers
/// must fold lookup columns and literals with exactly this function.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn ord_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn string_op(op: CompareOp, a: &str, b: &str, case_exact: bool) -> bool {
    let (fa, fb);
    let (a, b) = if case_exact {
        (a, b)
    } else {
        fa = fold(a);
        fb = fold(b);
        (fa.as_str(), fb.as_str())
    };
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => ord_matches(op, a.cmp(b)),
    }
}

/// A boolean from `true`/`false` or the strings "true"/"false" in any case (Entra ID).
fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => str_bool(s),
        _ => None,
    }
}

fn str_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn cmp_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    let int = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Parses an RFC 3339 timestamp (`2011-05-13T04:42:34Z`, with fraction or offset).
fn parse_instant(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// `leaf op lit` for one value of an attribute defined by `def` (`op` is not `ne`).
fn compare_leaf(leaf: &Value, op: CompareOp, lit: &CompValue, def: &AttributeDef) -> bool {
    match def.ty {
        AttrType::Boolean => {
            let l = match lit {
                CompValue::Bool(b) => Some(*b),
                CompValue::String(s) => str_bool(s),
                _ => None,
            };
            op == CompareOp::Eq && l.is_some() && lenient_bool(leaf) == l
        }
        AttrType::Integer | AttrType::Decimal => match (leaf, lit) {
            (Value::Number(a), CompValue::Number(b)) => {
                cmp_numbers(a, b).is_some_and(|o| ord_matches(op, o))
            }
            _ => false,
        },
        AttrType::DateTime => match (leaf, lit) {
            (Value::String(a), CompValue::String(b)) => {
                if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                    if let (Some(x), Some(y)) = (parse_instant(a), parse_instant(b)) {
                        return ord_matches(op, x.cmp(&y));
                    }
                }
                string_op(op, a, b, def.case_exact)
            }
            _ => false,
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match (leaf, lit) {
            (Value::String(a), CompValue::String(b)) => string_op(op, a, b, def.case_exact),
            _ => false,
        },
        AttrType::Complex => false,
    }
}

fn compare_target(t: &Target<'_>, op: CompareOp, lit: &CompValue) -> bool {
    let any = |op: CompareOp| match t.def {
        Some(def) => t.leaves.iter().any(|leaf| compare_leaf(leaf, op, lit, def)),
        None => false,
    };
    match (op, lit) {
        (CompareOp::Eq, CompValue::Null) => !t.present,
        (CompareOp::Ne, CompValue::Null) => t.present,
        (_, CompValue::Null) => false,
        (CompareOp::Ne, _) => !any(CompareOp::Eq),
        (op, _) => any(op),
    }
}

fn eval(f: &Filter, doc: &Value, scope: Scope<'_>) -> bool {
    match f {
        Filter::And(a, b) => eval(a, doc, scope) && eval(b, doc, scope),
        Filter::Or(a, b) => eval(a, doc, scope) || eval(b, doc, scope),
        Filter::Not(a) => !eval(a, doc, scope),
        Filter::Present(path) => target(scope, doc, path).is_some_and(|t| t.present),
        Filter::Compare { path, op, value } => {
            target(scope, doc, path).is_some_and(|t| compare_target(&t, *op, value))
        }
        Filter::ValuePath { attr, filter } => {
            let Scope::Resource(schema) = scope else {
                return false;
            };
            if attr.sub_attr.is_some() {
                return false;
            }
            let Some(r) = schema.resolve_any(attr) else {
                return false;
            };
            items(lookup(doc, &r)).any(|e| eval(filter, e, Scope::Element(r.attr)))
        }
    }
}

/// Whether `resource` (a canonical resource document, see [`crate::normalize`]) matches `filter`.
///
/// Attribute names resolve case-insensitively through `schema`; string comparison is
/// case-exact only where the attribute is `caseExact`. Comparisons on absent attributes
/// are false (so `ne` is true for an absent attribute, as `not (eq)`).
///
/// This is the reference semantics (RFC 7644 §3.4.2.2) storage back ends must mirror:
///
/// - **Lookup**: core attributes at the top level, extension attributes under their
///   schema URN key, `id`/`externalId`/`meta.*` per [`crate::schema::common_attributes`]; keys match
///   ASCII case-insensitively. An unknown attribute matches nothing (not even `ne`);
///   reject such filters up front with [`validate`].
/// - **Values**: a path yields the non-null values it reaches; multi-valued attributes
///   (or a sub-attribute of one, `emails.value`) match when **any** value matches. A
///   complex attribute compared without sub-attribute (`emails co "x"`, `manager eq "id"`)
///   compares its `value` sub-attribute; a complex attribute without `value` never matches.
/// - **`pr`**: true when the path reaches a value that is not null, not `""`, and not an
///   array/object without such values. `eq null` is `not pr`, `ne null` is `pr`; other
///   operators with `null` never match.
/// - **`ne`** is exactly `not (eq)`: true when the attribute is absent, and for a
///   multi-valued attribute true only when *no* value equals the literal.
/// - **Strings** (string, reference, binary): compared after [`fold`] on both sides unless
///   the (sub-)attribute is `caseExact`; `gt`/`ge`/`lt`/`le` compare code point order.
///   `co`/`sw`/`ew` only apply to strings (and dateTime text).
/// - **Booleans**: only `eq` (and `ne`) match; the literal may be `true`/`false` or the
///   string "true"/"false" in any case (Entra ID sends `active eq "True"`).
/// - **Numbers** (integer, decimal): numeric comparison with number literals only.
/// - **dateTime**: `eq`/`gt`/`ge`/`lt`/`le` compare instants when both sides parse as
///   RFC 3339 (`2011-05-13T04:42:34Z` equals `2011-05-13T06:42:34.000+02:00`); otherwise
///   they compare text (folded unless caseExact).
/// - A literal of the wrong type for the attribute (e.g. a number against a string
///   attribute) never matches.
pub fn matches(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    eval(filter, resource, Scope::Resource(schema))
}

/// Whether one element of the multi-valued attribute `attr` matches `filter`, whose paths
/// are relative to the element (PATCH value filters, valuePath filters).
///
/// For a complex `attr`, paths name its sub-attributes (`type`, `value`); for a simple
/// multi-valued `attr`, the path `value` names the element itself. Same semantics as
/// [`matches()`]; a nested valuePath never matches.
pub fn matches_element(
    filter: &Filter,
    element: &Value,
    attr: &crate::schema::AttributeDef,
) -> bool {
    eval(filter, element, Scope::Element(attr))
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

fn check_compare(
    path: &AttrPath,
    leaf: &AttributeDef,
    op: CompareOp,
    value: &CompValue,
) -> ScimResult<()> {
    if matches!(value, CompValue::Null) {
        if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Ok(());
        }
        return Err(ScimError::invalid_filter(format!(
            "'null' can only be compared with 'eq' or 'ne', not '{op}' (attribute '{path}')"
        )));
    }
    if leaf.ty == AttrType::Complex {
        if op.is_ordering() {
            return Err(ScimError::invalid_filter(format!(
                "operator '{op}' cannot be applied to the complex attribute '{path}'"
            )));
        }
        if leaf.sub("value").is_none() {
            return Err(ScimError::invalid_filter(format!(
                "the complex attribute '{path}' cannot be compared directly; name one of its sub-attributes (e.g. '{path}.{}')",
                leaf.sub_attributes.first().map(|s| s.name.as_str()).unwrap_or("value")
            )));
        }
        let value_def = leaf.sub("value").unwrap_or(leaf);
        return check_scalar(path, value_def, op, value);
    }
    check_scalar(path, leaf, op, value)
}

/// Whether a literal can be compared with an attribute of type `ty` by `op`: strings with
/// string-like attributes, numbers with numbers, booleans (or the strings "true"/"false",
/// as Entra ID sends them) with booleans, RFC 3339 instants with dateTime attributes (any
/// string for `co`/`sw`/`ew`). A literal of another type is a client mistake, not an
/// empty result.
fn literal_fits(ty: AttrType, op: CompareOp, value: &CompValue) -> bool {
    match (ty, value) {
        (_, CompValue::Null) | (AttrType::Complex, _) => true,
        (AttrType::Boolean, CompValue::Bool(_)) => true,
        (AttrType::Boolean, CompValue::String(s)) => {
            s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
        }
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(_)) => true,
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::String(_)) => true,
        (AttrType::DateTime, CompValue::String(s)) => {
            matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                || crate::normalize::normalize_date_time(s).is_some()
        }
        _ => false,
    }
}

fn check_scalar(
    path: &AttrPath,
    def: &AttributeDef,
    op: CompareOp,
    value: &CompValue,
) -> ScimResult<()> {
    if def.returned == crate::schema::Returned::Never {
        return Err(ScimError::invalid_filter(format!(
            "'{path}' is never returned and cannot be filtered on"
        )));
    }
    if !literal_fits(def.ty, op, value) {
        let want = match def.ty {
            AttrType::Boolean => "true or false",
            AttrType::Integer | AttrType::Decimal => "a number",
            AttrType::DateTime => {
                "an RFC 3339 date and time in quotes, e.g. \"2026-01-31T12:00:00Z\""
            }
            _ => "a string in double quotes",
        };
        return Err(ScimError::invalid_filter(format!(
            "'{path}' is compared with {value}, which does not fit its type; give {want}"
        )));
    }
    if op.is_ordering() && matches!(def.ty, AttrType::Boolean | AttrType::Binary) {
        let ty = if def.ty == AttrType::Boolean {
            "boolean"
        } else {
            "binary"
        };
        return Err(ScimError::invalid_filter(format!(
            "operator '{op}' is not supported on the {ty} attribute '{path}' (RFC 7644 §3.4.2.2)"
        )));
    }
    Ok(())
}

fn validate_in(f: &Filter, scope: Scope<'_>) -> ScimResult<()> {
    let defs = |path: &AttrPath| -> ScimResult<(&AttributeDef, Option<&AttributeDef>)> {
        let found = match scope {
            Scope::Resource(schema) => schema.resolve_any(path).map(|r| (r.attr, r.sub)),
            Scope::Element(attr) => element_defs(attr, path),
        };
        found.ok_or_else(|| match scope {
            Scope::Resource(_) => {
                ScimError::invalid_filter(format!("unknown attribute '{path}' in filter"))
            }
            Scope::Element(attr) => ScimError::invalid_filter(format!(
                "unknown sub-attribute '{path}' of '{}' in filter",
                attr.name
            )),
        })
    };
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate_in(a, scope)?;
            validate_in(b, scope)
        }
        Filter::Not(a) => validate_in(a, scope),
        Filter::Present(path) => defs(path).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let (top, sub) = defs(path)?;
            check_compare(path, sub.unwrap_or(top), *op, value)
        }
        Filter::ValuePath { attr, filter } => {
            let Scope::Resource(_) = scope else {
                return Err(ScimError::invalid_filter(format!(
                    "a value filter '[...]' cannot be nested inside another value filter ('{attr}')"
                )));
            };
            if attr.sub_attr.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "a value filter '[...]' must follow an attribute name, not the sub-attribute path '{attr}'"
                )));
            }
            let (top, _) = defs(attr)?;
            if !top.multi_valued && top.ty != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "a value filter '[...]' needs a multi-valued or complex attribute; '{attr}' is neither"
                )));
            }
            validate_in(filter, Scope::Element(top))
        }
    }
}

/// Checks a parsed filter against the resource type: every path must resolve (through
/// [`ResourceSchema::resolve_any`], so `id`, `externalId` and `meta.*` are known), valuePaths must name a
/// multi-valued or complex attribute, `gt`/`ge`/`lt`/`le` are refused on boolean, binary
/// and complex attributes (RFC 7644 §3.4.2.2 Table 3), a complex attribute without a
/// `value` sub-attribute cannot be compared directly, and `null` only goes with `eq`/`ne`.
///
/// Errors: 400 `invalidFilter`, e.g. `unknown attribute 'foo' in filter`.
pub fn validate(filter: &Filter, schema: &ResourceSchema) -> ScimResult<()> {
    validate_in(filter, Scope::Resource(schema))
}

/// Like [`validate`] for a filter whose paths are relative to one element of `attr`
/// (PATCH value filters such as the `type eq "work"` in `emails[type eq "work"]`).
///
/// Errors: 400 `invalidFilter`.
pub fn validate_value_filter(filter: &Filter, attr: &AttributeDef) -> ScimResult<()> {
    validate_in(filter, Scope::Element(attr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{
        Mutability, Returned, Schema, SchemaExtension, Uniqueness, ENTERPRISE_USER_SCHEMA,
        USER_SCHEMA,
    };
    use proptest::prelude::*;
    use serde_json::json;
    use std::sync::Arc;

    // ---- a tiny hand-built schema ---------------------------------------------------

    fn a(name: &str, ty: AttrType) -> AttributeDef {
        AttributeDef {
            name: name.to_string(),
            ty,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }
    fn s(name: &str) -> AttributeDef {
        a(name, AttrType::String)
    }
    fn exact(mut d: AttributeDef) -> AttributeDef {
        d.case_exact = true;
        d
    }
    fn mv(mut d: AttributeDef) -> AttributeDef {
        d.multi_valued = true;
        d
    }
    fn cx(name: &str, subs: Vec<AttributeDef>) -> AttributeDef {
        let mut d = a(name, AttrType::Complex);
        d.sub_attributes = subs;
        d
    }

    const CUSTOM: &str = "urn:example:params:scim:schemas:extension:custom:1.0:Thing";

    fn test_schema() -> ResourceSchema {
        let core = Schema {
            id: USER_SCHEMA.to_string(),
            name: "User".to_string(),
            description: String::new(),
            attributes: vec![
                s("userName"),
                s("displayName"),
                s("title"),
                s("nickName"),
                exact(s("code")),
                a("active", AttrType::Boolean),
                a("age", AttrType::Integer),
                a("score", AttrType::Decimal),
                a("birthday", AttrType::DateTime),
                a("photo", AttrType::Binary),
                a("profileUrl", AttrType::Reference),
                cx(
                    "name",
                    vec![s("givenName"), s("familyName"), s("formatted")],
                ),
                mv(cx(
                    "emails",
                    vec![
                        s("value"),
                        s("type"),
                        a("primary", AttrType::Boolean),
                        s("display"),
                    ],
                )),
                mv(cx(
                    "addresses",
                    vec![s("type"), s("streetAddress"), s("locality")],
                )),
                mv(s("tags")),
                mv(cx(
                    "members",
                    vec![
                        exact(s("value")),
                        exact(a("$ref", AttrType::Reference)),
                        s("display"),
                        s("type"),
                    ],
                )),
            ],
        };
        let ent = Schema {
            id: ENTERPRISE_USER_SCHEMA.to_string(),
            name: "EnterpriseUser".to_string(),
            description: String::new(),
            attributes: vec![
                s("employeeNumber"),
                s("department"),
                cx(
                    "manager",
                    vec![
                        exact(s("value")),
                        a("$ref", AttrType::Reference),
                        s("displayName"),
                    ],
                ),
            ],
        };
        let custom = Schema {
            id: CUSTOM.to_string(),
            name: "Thing".to_string(),
            description: String::new(),
            attributes: vec![a("level", AttrType::Integer)],
        };
        ResourceSchema {
            name: "User".to_string(),
            endpoint: "/Users".to_string(),
            description: String::new(),
            core: Arc::new(core),
            extensions: vec![
                SchemaExtension {
                    schema: Arc::new(ent),
                    required: false,
                },
                SchemaExtension {
                    schema: Arc::new(custom),
                    required: false,
                },
            ],
        }
    }

    fn bjensen() -> Value {
        json!({
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "BJ-1",
            "userName": "bjensen",
            "displayName": "Zoë Ångström",
            "code": "AbC",
            "active": true,
            "age": 42,
            "score": 3.5,
            "birthday": "1980-04-01T12:00:00Z",
            "profileUrl": "https://example.com/bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "addresses": [],
            "tags": ["Blue", "green"],
            "nickName": "",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "department": "Eng",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
            },
            "urn:example:params:scim:schemas:extension:custom:1.0:Thing": {"level": 7},
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"a330bc54f0671c9\""
            }
        })
    }

    fn p(s: &str) -> Filter {
        parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }
    fn perr(s: &str) -> ScimError {
        match parse(s) {
            Ok(f) => panic!("{s:?} should not parse, got {f:?}"),
            Err(e) => {
                assert_eq!(e.status, 400, "{s:?}");
                assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{s:?}: {e}");
                e
            }
        }
    }
    fn path(uri: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            uri: uri.map(str::to_string),
            attr: attr.to_string(),
            sub_attr: sub.map(str::to_string),
        }
    }
    fn ap(s: &str) -> AttrPath {
        parse_attr_path(s).unwrap()
    }
    fn pr(s: &str) -> Filter {
        Filter::Present(ap(s))
    }
    fn cmp(s: &str, op: CompareOp, v: CompValue) -> Filter {
        Filter::Compare {
            path: ap(s),
            op,
            value: v,
        }
    }
    fn st(s: &str) -> CompValue {
        CompValue::String(s.to_string())
    }
    fn and(x: Filter, y: Filter) -> Filter {
        Filter::And(Box::new(x), Box::new(y))
    }
    fn or(x: Filter, y: Filter) -> Filter {
        Filter::Or(Box::new(x), Box::new(y))
    }
    fn not(x: Filter) -> Filter {
        Filter::Not(Box::new(x))
    }
    fn m(f: &str) -> bool {
        matches(&p(f), &bjensen(), &test_schema())
    }
    fn m_doc(f: &str, doc: Value) -> bool {
        matches(&p(f), &doc, &test_schema())
    }

    // ---- parsing: structure ---------------------------------------------------------

    #[test]
    fn literals_must_fit_the_attribute_type() {
        let schema = crate::schema::user_resource_schema(vec![]);
        let check = |f: &str| validate(&parse(f).unwrap(), &schema);
        for ok in [
            r#"active eq true"#,
            r#"active eq "True""#,
            r#"userName eq "bob""#,
            r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
            r#"meta.created sw "2026""#,
            r#"emails eq "a@b""#,
            r#"title eq null"#,
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            r#"active eq 1"#,
            r#"active eq "yes""#,
            r#"userName gt 5"#,
            r#"userName eq true"#,
            r#"meta.created gt "garbage""#,
            r#"password eq "x""#,
        ] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.scim_type, Some(crate::ScimType::InvalidFilter), "{bad}");
        }
    }

    #[test]
    fn parses_simple_comparison() {
        assert_eq!(
            p(r#"userName eq "bjensen""#),
            cmp("userName", CompareOp::Eq, st("bjensen"))
        );
    }

    #[test]
    fn parses_every_operator_case_insensitively() {
        for op in CompareOp::ALL {
            for kw in [op.as_str().to_string(), op.as_str().to_uppercase()] {
                let f = p(&format!(r#"title {kw} "x""#));
                assert_eq!(f, cmp("title", op, st("x")));
            }
        }
        assert_eq!(p("title pr"), pr("title"));
        assert_eq!(p("title PR"), pr("title"));
        assert_eq!(p("title Pr"), pr("title"));
        assert_eq!(CompareOp::from_keyword("pr"), None);
    }

    #[test]
    fn keywords_are_case_insensitive_names_keep_spelling() {
        let f = p(r#"UserName EQ "x" AND NOT (Title Pr) Or active eq TRUE"#);
        assert_eq!(
            f,
            or(
                and(cmp("UserName", CompareOp::Eq, st("x")), not(pr("Title"))),
                cmp("active", CompareOp::Eq, CompValue::Bool(true))
            )
        );
        assert_eq!(
            p("a eq False").to_string(),
            "a eq false",
            "keyword literal normalised"
        );
        assert_eq!(p("a eq NULL"), cmp("a", CompareOp::Eq, CompValue::Null));
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        assert_eq!(
            p("a pr or b pr and c pr"),
            or(pr("a"), and(pr("b"), pr("c")))
        );
        assert_eq!(
            p("a pr and b pr or c pr"),
            or(and(pr("a"), pr("b")), pr("c"))
        );
        assert_eq!(
            p("a pr or b pr and c pr or d pr"),
            or(or(pr("a"), and(pr("b"), pr("c"))), pr("d"))
        );
    }

    #[test]
    fn and_or_are_left_associative() {
        assert_eq!(p("a pr or b pr or c pr"), or(or(pr("a"), pr("b")), pr("c")));
        assert_eq!(
            p("a pr and b pr and c pr"),
            and(and(pr("a"), pr("b")), pr("c"))
        );
    }

    #[test]
    fn parentheses_group() {
        assert_eq!(
            p("(a pr or b pr) and c pr"),
            and(or(pr("a"), pr("b")), pr("c"))
        );
        assert_eq!(
            p("a pr and (b pr or c pr)"),
            and(pr("a"), or(pr("b"), pr("c")))
        );
        assert_eq!(p("((a pr))"), pr("a"));
        assert_eq!(p("( a pr )"), pr("a"));
        assert_eq!(p("(a pr)and(b pr)"), and(pr("a"), pr("b")));
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(p("not (a pr)"), not(pr("a")));
        assert_eq!(p("not(a pr)"), not(pr("a")));
        assert_eq!(p("NOT  (a pr or b pr)"), not(or(pr("a"), pr("b"))));
        assert_eq!(p("not (a pr) and b pr"), and(not(pr("a")), pr("b")));
        assert_eq!(p("b pr or not (a pr)"), or(pr("b"), not(pr("a"))));
        assert_eq!(p("not (not (a pr))"), not(not(pr("a"))));
        let e = perr("not a pr");
        assert!(
            e.detail.contains("expected '(' after 'not'"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("position 5"), "{}", e.detail);
        perr("not");
        perr("not ()");
    }

    #[test]
    fn value_path() {
        let f = p(r#"emails[type eq "work" and value co "@example.com"]"#);
        assert_eq!(
            f,
            Filter::ValuePath {
                attr: ap("emails"),
                filter: Box::new(and(
                    cmp("type", CompareOp::Eq, st("work")),
                    cmp("value", CompareOp::Co, st("@example.com"))
                )),
            }
        );
        // RFC 7644 §3.4.2.2 examples.
        p(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#);
        p(
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        );
        p(r#"emails[not (type eq "work")]"#);
        p(r#"emails[(type eq "work")]"#);
        p(r#"emails[ type eq "]" ]"#);
        let f = p(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#);
        let Filter::ValuePath { attr, .. } = f else {
            panic!()
        };
        assert_eq!(attr, path(Some(USER_SCHEMA), "emails", None));
    }

    #[test]
    fn value_path_errors() {
        let e = perr(r#"emails[type eq "work" and addresses[type eq "x"]]"#);
        assert!(e.detail.contains("nested"), "{}", e.detail);
        let e = perr(r#"emails[type eq "work"]]"#);
        assert!(e.detail.contains("unmatched ']'"), "{}", e.detail);
        let e = perr(r#"emails[type eq "work""#);
        assert!(
            e.detail.contains("to close the '[' at position 7"),
            "{}",
            e.detail
        );
        perr("emails[]");
        perr(r#"emails.value[type eq "work"]"#);
        perr(r#"emails [type eq "work"]"#);
        perr(r#"emails[type eq "work")"#);
        perr(r#"(emails[type eq "work")]"#);
    }

    #[test]
    fn value_path_followed_by_sub_attribute_is_folded_in() {
        assert_eq!(
            p(r#"emails[type eq "work"].value eq "x""#),
            Filter::ValuePath {
                attr: ap("emails"),
                filter: Box::new(and(
                    cmp("type", CompareOp::Eq, st("work")),
                    cmp("value", CompareOp::Eq, st("x"))
                )),
            }
        );
        perr(r#"emails[type eq "work"].value"#);
        perr(r#"emails[type eq "work"]. value eq "x""#);
    }

    #[test]
    fn urn_qualified_paths() {
        let cases = [
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                path(Some(ENTERPRISE_USER_SCHEMA), "employeeNumber", None),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                path(Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value")),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                path(Some(USER_SCHEMA), "userName", None),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
                path(Some(USER_SCHEMA), "name", Some("familyName")),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                p(&format!("{text} pr")),
                Filter::Present(expected.clone()),
                "{text}"
            );
            assert_eq!(parse_attr_path(text).unwrap(), expected, "{text}");
            assert_eq!(expected.to_string(), text);
        }
    }

    #[test]
    fn attribute_names() {
        assert_eq!(
            p("name.familyName pr"),
            Filter::Present(path(None, "name", Some("familyName")))
        );
        assert_eq!(
            p("members.$ref pr"),
            Filter::Present(path(None, "members", Some("$ref")))
        );
        assert_eq!(p("$ref pr"), Filter::Present(path(None, "$ref", None)));
        assert_eq!(p("x-y_z9 pr"), Filter::Present(path(None, "x-y_z9", None)));
        perr("9abc pr");
        perr("_abc pr");
        perr("a.b.c pr");
        perr("a. pr");
        perr(".a pr");
        perr("a$b pr");
        perr("urn:x: pr");
        perr(":a pr");
        perr("café eq \"x\"");
    }

    #[test]
    fn string_literals_and_escapes() {
        let f = p(r#"title eq "q\" b\\ s\/ \b\f\n\r\t \u00e9 \u4E2D \ud83d\ude00""#);
        assert_eq!(
            f,
            cmp(
                "title",
                CompareOp::Eq,
                st("q\" b\\ s/ \u{8}\u{c}\n\r\t é 中 😀")
            )
        );
        assert_eq!(p(r#"title eq """#), cmp("title", CompareOp::Eq, st("")));
        assert_eq!(
            p(r#"displayName eq "Zoë Ångström""#),
            cmp("displayName", CompareOp::Eq, st("Zoë Ångström"))
        );
        assert_eq!(
            p(r#"title eq "a)b(c]d[e""#),
            cmp("title", CompareOp::Eq, st("a)b(c]d[e"))
        );
        perr("title eq \"x\tNO\"");
    }

    #[test]
    fn string_literal_errors() {
        let e = perr(r#"title eq "abc"#);
        assert!(e.detail.contains("unterminated string"), "{}", e.detail);
        assert!(e.detail.contains("position 10"), "{}", e.detail);
        perr(r#"title eq "abc\"#);
        perr(r#"title eq "\x""#);
        perr(r#"title eq "\u12""#);
        perr(r#"title eq "\u12G4""#);
        perr(r#"title eq "\ud83d""#);
        perr(r#"title eq "\ud83dx""#);
        perr(r#"title eq "\ud83d\u0041""#);
        perr(r#"title eq "\ude00""#);
        perr("title eq \"a\u{1}b\"");
        perr("title eq \"a\nb\"");
        perr(r#"title eq "a""b""#);
    }

    #[test]
    fn numbers_and_keywords() {
        let n = |s: &str| match p(&format!("age eq {s}")) {
            Filter::Compare {
                value: CompValue::Number(n),
                ..
            } => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(n("42"), serde_json::Number::from(42));
        assert_eq!(n("-1"), serde_json::Number::from(-1));
        assert_eq!(n("0"), serde_json::Number::from(0));
        assert_eq!(n("1.5").as_f64(), Some(1.5));
        assert_eq!(n("-2.5E-3").as_f64(), Some(-0.0025));
        assert_eq!(n("1e10").as_f64(), Some(1e10));
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        for bad in [
            "01", "1.", ".5", "-", "1e", "+1", "1e+", "--1", "0x10", "1.2.3", "1e400", "12abc",
        ] {
            perr(&format!("age eq {bad}"));
        }
        assert_eq!(
            p("a eq true"),
            cmp("a", CompareOp::Eq, CompValue::Bool(true))
        );
        assert_eq!(
            p("a eq false"),
            cmp("a", CompareOp::Eq, CompValue::Bool(false))
        );
        assert_eq!(p("a eq null"), cmp("a", CompareOp::Eq, CompValue::Null));
        assert_eq!(
            p(r#"active eq "True""#),
            cmp("active", CompareOp::Eq, st("True"))
        );
    }

    #[test]
    fn whitespace_is_lenient() {
        let expected = and(cmp("a", CompareOp::Eq, st("x")), pr("b"));
        for s in [
            r#"a eq "x" and b pr"#,
            "  a   eq\t\"x\"  and \t b pr  ",
            "\ta eq \"x\"\r\nand b pr\n",
            r#"a eq"x" and b pr"#,
            r#"a eq "x"and b pr"#,
        ] {
            assert_eq!(p(s), expected, "{s:?}");
        }
    }

    // ---- parsing: errors --------------------------------------------------------------

    #[test]
    fn error_messages_name_position_and_expectation() {
        let e = perr(r#"userName eqq "bjensen""#);
        assert_eq!(
            e.detail,
            "invalid filter at position 10: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le) or 'pr' after 'userName', found 'eqq'"
        );
        let e = perr("userName eq bjensen");
        assert_eq!(
            e.detail,
            "invalid filter at position 13: expected a value (a quoted string, a number, true, false or null) after 'eq', found 'bjensen' (string values must be in double quotes)"
        );
        let e = perr("userName eq");
        assert!(
            e.detail.ends_with("after 'eq', found end of input"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("position 12"), "{}", e.detail);
        let e = perr("userName");
        assert!(
            e.detail.contains("after 'userName', found end of input"),
            "{}",
            e.detail
        );
        // Positions count characters, not bytes.
        let e = perr(r#"displayName eq "Zoë" andd x pr"#);
        assert_eq!(
            e.detail,
            "invalid filter at position 22: expected 'and', 'or' or end of filter, found 'andd'"
        );
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "",
            "   ",
            r#"title pr "x""#,
            "title pr pr",
            r#"title eq"#,
            r#"title eq "x" garbage"#,
            r#"title eq "x" and"#,
            r#"title eq "x" or"#,
            r#"(title pr"#,
            r#"title pr)"#,
            r#"((title pr)"#,
            r#"title pr]"#,
            r#"[title pr]"#,
            r#"title xx "x""#,
            r#"title == "x""#,
            r#""x" eq title"#,
            r#"title eq ("x")"#,
            r#"title eq "x" and (b pr"#,
            r#"title eq "x" "y""#,
            r#"title eq "x" and or b pr"#,
            "()",
            "(",
            ")",
            "title eq undefined",
            "title eq 'x'",
        ] {
            perr(bad);
        }
        assert!(perr("").detail.contains("empty filter"));
        assert!(perr("title pr)").detail.contains("unmatched ')'"));
    }

    #[test]
    fn length_limit() {
        let long = format!(r#"title eq "{}""#, "x".repeat(MAX_FILTER_LEN));
        let e = perr(&long);
        assert!(e.detail.contains("maximum"), "{}", e.detail);
        let fits = format!(r#"title eq "{}""#, "x".repeat(MAX_FILTER_LEN - 11));
        assert_eq!(fits.len(), MAX_FILTER_LEN);
        p(&fits);
    }

    #[test]
    fn depth_limit() {
        let nest = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
        p(&nest(MAX_FILTER_DEPTH));
        let e = perr(&nest(MAX_FILTER_DEPTH + 1));
        assert!(e.detail.contains("nests more than 32"), "{}", e.detail);
        let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
        p(&nots(MAX_FILTER_DEPTH));
        perr(&nots(MAX_FILTER_DEPTH + 1));
        // Far deeper than the limit: rejected without deep recursion.
        perr(&"(".repeat(MAX_FILTER_LEN));
        perr(&"not (".repeat(MAX_FILTER_LEN / 5));
        // valuePath counts as a level.
        let vp = format!(
            "{}emails[type pr]{}",
            "(".repeat(MAX_FILTER_DEPTH - 1),
            ")".repeat(MAX_FILTER_DEPTH - 1)
        );
        p(&vp);
        let vp = format!(
            "{}emails[type pr]{}",
            "(".repeat(MAX_FILTER_DEPTH),
            ")".repeat(MAX_FILTER_DEPTH)
        );
        perr(&vp);
    }

    #[test]
    fn long_flat_filters_parse_and_evaluate() {
        // A wide (not deep) filter near the length limit: linear time, no stack trouble.
        let mut s = String::from("title pr");
        while s.len() < MAX_FILTER_LEN - 20 {
            s.push_str(" or title pr");
        }
        let f = p(&s);
        assert!(!matches(&f, &bjensen(), &test_schema()));
        assert_eq!(parse(&f.to_string()).unwrap(), f);
    }

    // ---- attribute and PATCH paths ----------------------------------------------------

    #[test]
    fn attr_paths() {
        assert_eq!(ap("members"), path(None, "members", None));
        assert_eq!(
            ap("  name.givenName "),
            path(None, "name", Some("givenName"))
        );
        assert_eq!(
            ap("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
            path(Some(ENTERPRISE_USER_SCHEMA), "manager", None)
        );
        assert_eq!(
            AttrPath::parse("userName").unwrap(),
            path(None, "userName", None)
        );
        for bad in [
            "",
            "  ",
            "a.b.c",
            "1abc",
            r#"emails[type eq "work"]"#,
            "a b",
            "urn:x:",
            "a.",
            "é",
        ] {
            let e = parse_attr_path(bad).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{bad:?}");
            assert!(e.detail.starts_with("invalid path"), "{}", e.detail);
        }
        let e = parse_attr_path("name.given$Name").unwrap_err();
        assert_eq!(
            e.detail,
            "invalid path at position 11: invalid character '$' in attribute name 'given$Name' (allowed: letters, digits, '-', '_')"
        );
    }

    #[test]
    fn patch_paths() {
        let pp = |s: &str| parse_patch_path(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(
            pp("members"),
            PatchPath {
                attr: ap("members"),
                filter: None,
                sub_attr_after_filter: None
            }
        );
        assert_eq!(
            pp("name.givenName").attr,
            path(None, "name", Some("givenName"))
        );
        let x = pp(r#"emails[type eq "work"].value"#);
        assert_eq!(x.attr, ap("emails"));
        assert_eq!(x.filter, Some(cmp("type", CompareOp::Eq, st("work"))));
        assert_eq!(x.sub_attr_after_filter.as_deref(), Some("value"));
        let x = pp(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#);
        assert_eq!(
            x.filter,
            Some(cmp(
                "value",
                CompareOp::Eq,
                st("2819c223-7f76-453a-919d-413861904646")
            ))
        );
        assert_eq!(x.sub_attr_after_filter, None);
        assert_eq!(
            pp("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager").attr,
            path(Some(ENTERPRISE_USER_SCHEMA), "manager", None)
        );
        assert_eq!(
            pp("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value").attr,
            path(Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value"))
        );
        let x = pp(r#"addresses[type eq "work"].streetAddress"#);
        assert_eq!(x.sub_attr_after_filter.as_deref(), Some("streetAddress"));
        let x = pp(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#);
        assert_eq!(x.attr, path(Some(USER_SCHEMA), "emails", None));
        assert_eq!(x.sub_attr_after_filter.as_deref(), Some("value"));
        // `]` inside a string literal does not close the filter.
        let x = pp(r#"emails[display eq "a]b" or value co "]"].type"#);
        assert_eq!(
            x.filter,
            Some(or(
                cmp("display", CompareOp::Eq, st("a]b")),
                cmp("value", CompareOp::Co, st("]"))
            ))
        );
        assert_eq!(
            pp(r#"emails[type eq "work" and primary eq true]"#).sub_attr_after_filter,
            None
        );
        assert_eq!(PatchPath::parse(" members ").unwrap().attr, ap("members"));
    }

    #[test]
    fn patch_path_errors() {
        let kind = |s: &str| parse_patch_path(s).unwrap_err().scim_type.unwrap();
        for bad in [
            "",
            "a.b.c",
            r#"name.givenName[givenName eq "x"]"#,
            r#"emails[type eq "work""#,
            r#"emails[type eq "work"]."#,
            r#"emails[type eq "work"]value"#,
            r#"emails[type eq "work"].value.x"#,
            r#"emails[type eq "work"] x"#,
            "emails x",
            "emails]",
        ] {
            assert_eq!(kind(bad), ScimType::InvalidPath, "{bad:?}");
        }
        for bad in [
            "emails[]",
            r#"emails[type eqq "work"]"#,
            r#"emails[type eq work]"#,
            r#"emails[type eq "work]"#,
            r#"emails[addresses[type pr]]"#,
        ] {
            assert_eq!(kind(bad), ScimType::InvalidFilter, "{bad:?}");
        }
        let e = parse_patch_path(r#"emails[type eqq "work"]"#).unwrap_err();
        assert!(e.detail.contains("position 13"), "{}", e.detail);
    }

    // ---- evaluation -------------------------------------------------------------------

    #[test]
    fn eq_is_case_insensitive_unless_case_exact() {
        assert!(m(r#"userName eq "bjensen""#));
        assert!(m(r#"userName eq "BJensen""#));
        assert!(
            m(r#"USERNAME eq "bjensen""#),
            "attribute names resolve case-insensitively"
        );
        assert!(!m(r#"userName eq "bjense""#));
        assert!(m(r#"code eq "AbC""#));
        assert!(!m(r#"code eq "abc""#), "caseExact");
        assert!(m(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
        assert!(
            !m(r#"id eq "2819C223-7F76-453A-919D-413861904646""#),
            "id is caseExact"
        );
        assert!(m(r#"externalId eq "BJ-1""#));
        assert!(!m(r#"externalId eq "bj-1""#), "externalId is caseExact");
    }

    #[test]
    fn non_ascii_strings_fold_with_unicode_lowercase() {
        assert!(m(r#"displayName eq "Zoë Ångström""#));
        assert!(m(r#"displayName eq "ZOË ÅNGSTRÖM""#));
        assert!(m(r#"displayName eq "zo\u00cb \u00e5ngstr\u00f6m""#));
        assert!(m(r#"displayName sw "ZOË""#));
        assert!(m(r#"displayName co "ångs""#));
        assert_eq!(fold("ZOË ÅNGSTRÖM"), "zoë ångström");
        assert_eq!(fold("İ"), "i\u{307}");
    }

    #[test]
    fn string_operators() {
        assert!(m(r#"userName co "jens""#));
        assert!(m(r#"userName sw "BJ""#));
        assert!(m(r#"userName ew "SEN""#));
        assert!(!m(r#"userName sw "jensen""#));
        assert!(!m(r#"userName ew "bj""#));
        assert!(m(r#"userName co """#));
        assert!(m(r#"userName gt "a""#));
        assert!(m(r#"userName gt "BA""#), "folded before ordering");
        assert!(m(r#"userName ge "bjensen""#));
        assert!(m(r#"userName le "BJENSEN""#));
        assert!(!m(r#"userName lt "bjensen""#));
        assert!(m(r#"userName lt "c""#));
        assert!(!m(r#"code co "abc""#), "caseExact co");
        assert!(m(r#"code co "bC""#));
        assert!(m(r#"profileUrl sw "https://EXAMPLE""#));
        assert!(
            !m(r#"userName eq 5"#),
            "number literal against a string attribute"
        );
        assert!(!m(r#"userName co 5"#));
    }

    #[test]
    fn ne_is_not_eq_and_true_when_absent() {
        assert!(m(r#"userName ne "x""#));
        assert!(!m(r#"userName ne "BJENSEN""#));
        assert!(m(r#"title ne "x""#), "absent");
        assert!(!m(r#"title eq "x""#), "absent");
        assert!(!m(r#"title co "x""#));
        assert!(!m(r#"title gt "a""#));
        // Multi-valued: ne means no value equals.
        assert!(!m(r#"emails.type ne "work""#));
        assert!(m(r#"emails.type ne "other""#));
        assert!(m(r#"not (emails.type eq "other")"#));
        // Unknown attributes match nothing, not even ne.
        assert!(!m(r#"nope ne "x""#));
        assert!(!m(r#"nope pr"#));
        assert!(!m(r#"name.nope eq "x""#));
        assert!(!m(r#"urn:unknown:schema:nope eq "x""#));
    }

    #[test]
    fn multi_valued_any_semantics() {
        assert!(m(r#"emails.value co "jensen.org""#));
        assert!(m(r#"emails.value ew "@EXAMPLE.COM""#));
        assert!(
            m(r#"emails co "jensen.org""#),
            "complex multi-valued compares value"
        );
        assert!(m(r#"emails eq "babs@jensen.org""#));
        assert!(m(r#"emails.type eq "home""#));
        assert!(m(r#"emails.primary eq true"#));
        assert!(m(r#"tags eq "blue""#));
        assert!(m(r#"tags eq "GREEN""#));
        assert!(!m(r#"tags eq "red""#));
        assert!(m(r#"tags sw "bl""#));
    }

    #[test]
    fn value_path_requires_one_element_to_match_everything() {
        assert!(m(r#"emails[type eq "work" and value co "@example.com"]"#));
        assert!(!m(r#"emails[type eq "work" and value co "@jensen.org"]"#));
        // ...whereas separate paths may match different elements.
        assert!(m(
            r#"emails.type eq "work" and emails.value co "@jensen.org""#
        ));
        assert!(m(r#"emails[type eq "home" or primary eq true]"#));
        assert!(m(r#"emails[not (type eq "work")]"#));
        assert!(m(r#"emails[type eq "home"].value ew "jensen.org""#));
        assert!(!m(r#"emails[type eq "work"].value ew "jensen.org""#));
        assert!(m(r#"userName eq "bjensen" and emails[primary eq "True"]"#));
        assert!(!m(r#"addresses[type eq "work"]"#), "empty array");
        assert!(!m(r#"phoneNumbers[type eq "work"]"#), "unknown");
        assert!(
            m(r#"name[givenName eq "barbara"]"#),
            "single-valued complex"
        );
        assert!(
            m(r#"tags[value eq "blue"]"#),
            "simple multi-valued: value is the item"
        );
        assert!(!m(r#"tags[value eq "red"]"#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#
        ));
    }

    #[test]
    fn extension_and_urn_paths() {
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "ENG""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#
        ));
        assert!(m(
            r#"URN:IETF:params:scim:schemas:extension:enterprise:2.0:user:Manager.DisplayName sw "john""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr"#
        ));
        assert!(!m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter pr"#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "jensen""#
        ));
        assert!(m(&format!("{CUSTOM}:level gt 6")));
        assert!(
            !m(r#"department eq "Eng""#),
            "extension attributes need their URN"
        );
        // Extension container absent: attribute absent.
        let doc = json!({"userName": "x"});
        assert!(m_doc(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ne "Eng""#,
            doc.clone()
        ));
        assert!(!m_doc(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#,
            doc
        ));
    }

    #[test]
    fn common_attributes_id_external_id_meta() {
        assert!(m(r#"meta.resourceType eq "User""#));
        assert!(!m(r#"meta.resourceType eq "user""#), "caseExact");
        assert!(m(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
        assert!(!m(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
        assert!(m(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
        assert!(m(r#"meta.created lt "2011-01-01T00:00:00Z""#));
        assert!(m(r#"meta.version eq "W/\"a330bc54f0671c9\"""#));
        assert!(m(r#"meta pr"#));
        assert!(m(r#"urn:ietf:params:scim:schemas:core:2.0:User:id pr"#));
        assert!(!m(r#"meta.location pr"#));
    }

    #[test]
    fn date_times_compare_as_instants() {
        assert!(m(r#"birthday eq "1980-04-01T12:00:00Z""#));
        assert!(
            m(r#"birthday eq "1980-04-01T14:00:00+02:00""#),
            "same instant"
        );
        assert!(m(r#"birthday eq "1980-04-01T12:00:00.000Z""#));
        assert!(m(r#"birthday gt "1980-04-01T13:00:00+02:00""#));
        assert!(m(r#"birthday lt "1980-04-01T13:00:00Z""#));
        assert!(m(r#"birthday le "1980-04-01T12:00:00Z""#));
        assert!(!m(r#"birthday gt "1980-04-01T12:00:00Z""#));
        // Text fallback when a side is not RFC 3339.
        assert!(m(r#"birthday gt "1980""#));
        assert!(m(r#"birthday sw "1980-04""#));
        assert!(!m(r#"birthday eq "1980-04-01""#));
        assert!(m_doc(
            r#"birthday lt "2000""#,
            json!({"birthday": "1999-12-31"})
        ));
        assert!(!m(r#"birthday eq 1980"#));
    }

    #[test]
    fn booleans_including_entra_strings() {
        assert!(m("active eq true"));
        assert!(!m("active eq false"));
        assert!(m(r#"active eq "True""#));
        assert!(m(r#"active eq "TRUE""#));
        assert!(!m(r#"active eq "False""#));
        assert!(m(r#"active ne "false""#));
        assert!(!m(r#"active eq "yes""#));
        assert!(!m(r#"active gt false"#));
        assert!(!m(r#"active co "t""#));
        assert!(
            m_doc("active eq false", json!({"active": "False"})),
            "lenient document value"
        );
        assert!(m_doc("active ne true", json!({"userName": "x"})), "absent");
        assert!(
            !m_doc("active eq false", json!({"userName": "x"})),
            "absent is not false"
        );
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(m("age eq 42"));
        assert!(m("age eq 42.0"));
        assert!(m("age gt 41.5"));
        assert!(m("age lt 100"));
        assert!(m("age ge 42"));
        assert!(m("age le 42"));
        assert!(!m("age gt 42"));
        assert!(m("score gt 3"));
        assert!(m("score eq 3.5"));
        assert!(m("score eq 35e-1"));
        assert!(!m(r#"age eq "42""#), "string literal against a number");
        assert!(!m(r#"age co 4"#));
        assert!(m_doc("age lt 18446744073709551615", json!({"age": -1})));
        assert!(m_doc(
            "age gt -9223372036854775808",
            json!({"age": 18446744073709551615u64})
        ));
    }

    #[test]
    fn null_and_presence() {
        assert!(m("title eq null"), "absent");
        assert!(m("nickName eq null"), "empty string");
        assert!(m("addresses eq null"), "empty array");
        assert!(!m("userName eq null"));
        assert!(m("userName ne null"));
        assert!(!m("title ne null"));
        assert!(!m("title gt null"));
        assert!(m("userName pr"));
        assert!(!m("title pr"));
        assert!(!m("nickName pr"));
        assert!(!m("addresses pr"));
        assert!(m("emails pr"));
        assert!(m("emails.primary pr"));
        assert!(m("name pr"));
        assert!(m("name.givenName pr"));
        assert!(!m("name.formatted pr"));
        assert!(m("active pr"));
        let doc =
            json!({"title": null, "emails": [{}], "name": {"givenName": null}, "tags": [null, ""]});
        for f in [
            "title pr",
            "emails pr",
            "emails.value pr",
            "name pr",
            "tags pr",
            "name.givenName pr",
        ] {
            assert!(!m_doc(f, doc.clone()), "{f}");
        }
        assert!(m_doc("emails eq null", doc.clone()));
        assert!(m_doc("active eq null", doc));
    }

    #[test]
    fn logical_combinations() {
        assert!(m(r#"userName eq "x" or userName eq "bjensen""#));
        assert!(!m(r#"userName eq "x" and userName eq "bjensen""#));
        assert!(m(r#"not (userName eq "x")"#));
        assert!(!m(r#"not (userName eq "bjensen")"#));
        // a or b and c = a or (b and c): true or (false and false).
        assert!(m(r#"userName pr or title pr and nickName pr"#));
        assert!(!m(r#"(userName pr or title pr) and nickName pr"#));
    }

    #[test]
    fn document_keys_are_case_insensitive() {
        let doc = json!({"USERNAME": "bjensen", "Emails": [{"Value": "a@x", "TYPE": "work"}],
            "URN:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "Eng"}});
        assert!(m_doc(r#"userName eq "bjensen""#, doc.clone()));
        assert!(m_doc(
            r#"emails[type eq "work" and value eq "A@X"]"#,
            doc.clone()
        ));
        assert!(m_doc(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "eng""#,
            doc
        ));
    }

    #[test]
    fn element_matching() {
        let schema = test_schema();
        let emails = schema.core.attr("emails").unwrap();
        let work = json!({"value": "a@x", "type": "Work", "primary": true});
        let f = p(r#"type eq "work" and primary eq true"#);
        assert!(matches_element(&f, &work, emails));
        assert!(!matches_element(&p(r#"type eq "home""#), &work, emails));
        assert!(matches_element(&p(r#"value ew "@X""#), &work, emails));
        assert!(!matches_element(&p(r#"nope pr"#), &work, emails));
        assert!(
            !matches_element(&p(r#"emails[type pr]"#), &work, emails),
            "nested valuePath"
        );
        let members = schema.core.attr("members").unwrap();
        let m1 = json!({"value": "ABC", "$ref": "https://x/Users/ABC"});
        assert!(matches_element(&p(r#"value eq "ABC""#), &m1, members));
        assert!(
            !matches_element(&p(r#"value eq "abc""#), &m1, members),
            "caseExact value"
        );
        assert!(matches_element(&p(r#"$ref ew "/ABC""#), &m1, members));
        let tags = schema.core.attr("tags").unwrap();
        assert!(matches_element(
            &p(r#"value eq "BLUE""#),
            &json!("blue"),
            tags
        ));
        assert!(!matches_element(&p(r#"type eq "x""#), &json!("blue"), tags));
        // A PATCH path's filter evaluated against each element.
        let pp = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        let doc = bjensen();
        let hits: Vec<_> = doc["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| matches_element(pp.filter.as_ref().unwrap(), e, emails))
            .collect();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0]["value"], "bjensen@example.com");
    }

    // ---- validation -------------------------------------------------------------------

    #[test]
    fn validate_accepts_known_paths() {
        let schema = test_schema();
        for ok in [
            r#"userName eq "x""#,
            r#"USERNAME eq "x""#,
            "id pr",
            r#"externalId eq "x""#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"emails eq "x""#,
            r#"emails[type eq "work" and value co "@x"]"#,
            r#"name[givenName eq "x"]"#,
            r#"tags[value eq "x"]"#,
            "name eq null",
            "name pr",
            r#"active eq "True""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "x""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:meta.created pr"#,
            "age gt 3",
            r#"birthday lt "2000-01-01T00:00:00Z""#,
            r#"members.$ref pr"#,
        ] {
            validate(&p(ok), &schema).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn validate_rejects() {
        let schema = test_schema();
        let v = |s: &str| {
            let e = validate(&p(s), &schema).expect_err(s);
            assert_eq!(e.status, 400);
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
            e.detail
        };
        assert_eq!(v(r#"foo eq "x""#), "unknown attribute 'foo' in filter");
        assert_eq!(
            v(r#"userName eq "x" and not (name.middle pr)"#),
            "unknown attribute 'name.middle' in filter"
        );
        assert!(v(r#"department eq "x""#).contains("unknown attribute 'department'"));
        assert!(v(r#"urn:nope:x:department eq "x""#).contains("unknown attribute"));
        assert!(v(r#"emails[kind eq "x"]"#).contains("unknown sub-attribute 'kind' of 'emails'"));
        assert!(v(r#"userName[value eq "x"]"#).contains("multi-valued or complex"));
        assert!(v("active gt true").contains("boolean"));
        assert!(v("emails.primary le false").contains("boolean"));
        assert!(v(r#"photo lt "x""#).contains("binary"));
        assert!(v(r#"emails gt "a""#).contains("complex"));
        assert!(v(r#"name eq "x""#).contains("cannot be compared directly"));
        assert!(v(r#"meta eq "x""#).contains("cannot be compared directly"));
        assert!(v("title co null").contains("'null'"));
        let nested = Filter::ValuePath {
            attr: ap("emails"),
            filter: Box::new(Filter::ValuePath {
                attr: ap("addresses"),
                filter: Box::new(pr("type")),
            }),
        };
        assert!(validate(&nested, &schema)
            .unwrap_err()
            .detail
            .contains("nested"));
        let emails = schema.core.attr("emails").unwrap();
        validate_value_filter(&p(r#"type eq "work""#), emails).unwrap();
        assert!(validate_value_filter(&p(r#"kind eq "work""#), emails).is_err());
        assert!(validate_value_filter(&p("primary gt true"), emails).is_err());
    }

    // ---- Display ----------------------------------------------------------------------

    #[test]
    fn display_is_canonical() {
        let d = |s: &str| p(s).to_string();
        assert_eq!(d(r#"userName  EQ   "bjensen""#), r#"userName eq "bjensen""#);
        assert_eq!(d("a pr or b pr and c pr"), "a pr or b pr and c pr");
        assert_eq!(d("(a pr or b pr) and c pr"), "(a pr or b pr) and c pr");
        assert_eq!(d("a pr or (b pr or c pr)"), "a pr or (b pr or c pr)");
        assert_eq!(d("(a pr or b pr) or c pr"), "a pr or b pr or c pr");
        assert_eq!(d("not(a pr)"), "not (a pr)");
        assert_eq!(
            d(r#"emails[type eq "work"].value pr"#),
            r#"emails[type eq "work" and value pr]"#
        );
        assert_eq!(d(r#"t eq "a\"\\\u00e9\n\/""#), r#"t eq "a\"\\é\n/""#);
        assert_eq!(d("n eq -1.5e3"), "n eq -1500.0");
        assert_eq!(
            d(r#"urn:a:b:2.0:X:m.value eq NULL"#),
            "urn:a:b:2.0:X:m.value eq null"
        );
        assert_eq!(CompValue::String("\u{1}".into()).to_string(), r#""\u0001""#);
        for s in [
            r#"userName eq "x""#,
            "(a pr or b pr) and not (c pr)",
            r#"emails[type eq "work" or not (value co "x")] and d pr"#,
        ] {
            assert_eq!(p(&d(s)), p(s));
        }
    }

    // ---- real core schemas (schema.rs) ------------------------------------------------

    #[test]
    fn with_core_user_and_group_schemas() {
        let user = crate::schema::user_resource_schema(Vec::new());
        let doc = bjensen();
        for (f, expected) in [
            (r#"userName eq "BJENSEN""#, true),
            (r#"name.familyName co "ens""#, true),
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "home" and value co "@example.com"]"#,
                false,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"#,
                true,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                true,
            ),
            (r#"active eq "True""#, true),
            (r#"meta.lastModified gt "2011-01-01T00:00:00Z""#, true),
            (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
            (r#"title pr"#, false),
        ] {
            let filter = p(f);
            validate(&filter, &user).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(matches(&filter, &doc, &user), expected, "{f}");
        }
        assert!(validate(&p("active gt true"), &user).is_err());
        assert!(validate(&p(r#"foo eq "x""#), &user).is_err());
        assert!(validate(&p(r#"userName[value eq "x"]"#), &user).is_err());

        let group = crate::schema::group_resource_schema();
        let g = json!({"displayName": "Admins", "members": [{"value": "u1"}, {"value": "u2"}]});
        for (f, expected) in [
            (r#"displayName eq "admins""#, true),
            (r#"members eq "u2""#, true),
            (r#"members[value eq "u1"]"#, true),
            (r#"members.value eq "u3""#, false),
        ] {
            let filter = p(f);
            validate(&filter, &group).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(matches(&filter, &g, &group), expected, "{f}");
        }
    }

    // ---- property tests ---------------------------------------------------------------

    fn name_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            9 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}".prop_filter("reserved", |s| !s.eq_ignore_ascii_case("not")),
            1 => Just("$ref".to_string()),
        ]
    }

    fn path_strategy(with_sub: bool) -> impl Strategy<Value = AttrPath> {
        let uri = proptest::option::weighted(0.3, "urn:[a-z]{1,6}(:[a-zA-Z0-9.-]{1,6}){0,4}");
        let sub = if with_sub {
            proptest::option::weighted(0.3, name_strategy()).boxed()
        } else {
            Just(None).boxed()
        };
        (uri, name_strategy(), sub).prop_map(|(uri, attr, sub_attr)| AttrPath {
            uri,
            attr,
            sub_attr,
        })
    }

    fn value_strategy() -> impl Strategy<Value = CompValue> {
        prop_oneof![
            Just(CompValue::Null),
            any::<bool>().prop_map(CompValue::Bool),
            any::<i64>().prop_map(|n| CompValue::Number(n.into())),
            any::<u64>().prop_map(|n| CompValue::Number(n.into())),
            any::<f64>()
                .prop_filter_map("finite", serde_json::Number::from_f64)
                .prop_map(CompValue::Number),
            any::<String>().prop_map(CompValue::String),
        ]
    }

    fn leaf_strategy() -> impl Strategy<Value = Filter> {
        prop_oneof![
            (
                path_strategy(true),
                proptest::sample::select(CompareOp::ALL.to_vec()),
                value_strategy()
            )
                .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
            path_strategy(true).prop_map(Filter::Present),
        ]
    }

    fn combine(inner: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
            inner.prop_map(not),
        ]
    }

    fn value_filter_strategy() -> impl Strategy<Value = Filter> {
        leaf_strategy().prop_recursive(4, 24, 2, |inner| combine(inner.boxed()))
    }

    fn filter_strategy() -> impl Strategy<Value = Filter> {
        let base = prop_oneof![
            3 => leaf_strategy(),
            1 => (path_strategy(false), value_filter_strategy())
                .prop_map(|(attr, f)| Filter::ValuePath { attr, filter: Box::new(f) }),
        ];
        base.prop_recursive(4, 32, 2, |inner| combine(inner.boxed()))
    }

    const SEEDS: &[&str] = &[
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"displayName eq "Zo\u00eb \ud83d\ude00 Ångström" and age ge -1.5e3 and active eq true"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x" and x eq null"#,
        r#"emails[type eq "work"].value eq "x""#,
    ];

    #[derive(Debug, Clone)]
    enum Mutation {
        Delete(usize),
        Insert(usize, char),
        Replace(usize, char),
        Truncate(usize),
        Duplicate(usize, usize),
    }

    fn mutation_strategy() -> impl Strategy<Value = Mutation> {
        let ch = prop_oneof![
            proptest::sample::select(vec![
                '(', ')', '[', ']', '"', '\\', ' ', '.', ':', 'a', '0', '-', 'é', '\t', 'u'
            ]),
            any::<char>(),
        ];
        prop_oneof![
            any::<usize>().prop_map(Mutation::Delete),
            (any::<usize>(), ch.clone()).prop_map(|(i, c)| Mutation::Insert(i, c)),
            (any::<usize>(), ch).prop_map(|(i, c)| Mutation::Replace(i, c)),
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Duplicate(i, j)),
        ]
    }

    fn mutate(s: &str, muts: &[Mutation]) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        for mu in muts {
            let n = chars.len();
            match *mu {
                Mutation::Delete(i) if n > 0 => {
                    chars.remove(i % n);
                }
                Mutation::Insert(i, c) => chars.insert(i % (n + 1), c),
                Mutation::Replace(i, c) if n > 0 => chars[i % n] = c,
                Mutation::Truncate(i) => chars.truncate(i % (n + 1)),
                Mutation::Duplicate(i, j) if n > 0 => {
                    let (a, b) = (i % n, j % n);
                    let (a, b) = (a.min(b), a.max(b));
                    let piece: Vec<char> = chars[a..=b].to_vec();
                    chars.splice(b + 1..b + 1, piece);
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    /// Whatever parses re-parses from its Display to the same AST, and evaluates without
    /// panicking.
    fn check_accepted(input: &str) -> Result<(), TestCaseError> {
        match parse(input) {
            Ok(f) => {
                let shown = f.to_string();
                let again =
                    parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown:?}: {e}")))?;
                prop_assert_eq!(&again, &f, "display {:?}", shown);
                let schema = test_schema();
                let _ = matches(&f, &bjensen(), &schema);
                let _ = validate(&f, &schema);
            }
            Err(e) => {
                prop_assert_eq!(e.status, 400);
                prop_assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
                prop_assert!(e.detail.starts_with("invalid filter"), "{}", e.detail);
            }
        }
        let _ = parse_patch_path(input);
        let _ = parse_attr_path(input);
        Ok(())
    }

    #[test]
    fn seeds_parse() {
        for s in SEEDS {
            p(s);
            check_accepted(s).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn never_panics_on_arbitrary_strings(s in any::<String>()) {
            check_accepted(&s)?;
        }

        #[test]
        fn never_panics_on_filterish_strings(s in r#"[a-zA-Z0-9 ()\[\]".:$\\/_ée\t-]{0,80}"#) {
            check_accepted(&s)?;
        }

        #[test]
        fn never_panics_on_mutated_filters(
            seed in proptest::sample::select(SEEDS.to_vec()),
            muts in proptest::collection::vec(mutation_strategy(), 1..4),
        ) {
            check_accepted(&mutate(seed, &muts))?;
        }

        #[test]
        fn display_round_trips(f in filter_strategy()) {
            let shown = f.to_string();
            let parsed = parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown:?}: {e}")))?;
            prop_assert_eq!(parsed, f, "display {:?}", shown);
        }

        #[test]
        fn attr_path_display_round_trips(path in path_strategy(true)) {
            prop_assert_eq!(parse_attr_path(&path.to_string())?, path);
        }
    }
}
