//! The filter grammar (RFC 7644 §3.4.2.2) over the shared [`Parser`] cursor: `or`/`and`
//! precedence, grouping, `not (...)`, attribute expressions, valuePaths, and JSON literals.

use crate::error::{ScimResult, ScimType};
use crate::filter::ast::{CompValue, CompareOp, Filter};
use crate::lexer::{check_len, clip, is_delim, Parser};
use crate::path::attr::AttrPath;

/// Maximum nesting depth of parentheses, `not` and valuePaths.
pub const MAX_FILTER_DEPTH: usize = 32;

impl<'a> Parser<'a> {
    pub(crate) fn enter(&mut self, at: usize) -> ScimResult<()> {
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

    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }
    // ---- filters --------------------------------------------------------------------

    /// `or`-level: `and_expr *("or" and_expr)`, left-associative.
    pub(crate) fn parse_or(&mut self, in_vp: bool) -> ScimResult<Filter> {
        self.parse_chain(in_vp, "or", Self::parse_and, Filter::Or)
    }

    /// `and`-level: `primary *("and" primary)`, left-associative.
    pub(crate) fn parse_and(&mut self, in_vp: bool) -> ScimResult<Filter> {
        self.parse_chain(in_vp, "and", Self::parse_primary, Filter::And)
    }

    /// `operand *(word operand)`, left-associative: each `word` (any case) joins what came
    /// before and the next operand with `join`.
    fn parse_chain(
        &mut self,
        in_vp: bool,
        word: &str,
        operand: fn(&mut Self, bool) -> ScimResult<Filter>,
        join: fn(Box<Filter>, Box<Filter>) -> Filter,
    ) -> ScimResult<Filter> {
        let mut left = operand(self, in_vp)?;
        loop {
            self.skip_ws();
            if !self.peek_word().eq_ignore_ascii_case(word) {
                return Ok(left);
            }
            self.pos += word.len();
            let right = operand(self, in_vp)?;
            left = join(Box::new(left), Box::new(right));
        }
    }

    /// Consumes `close` after skipping whitespace, or fails naming the opener at `open_at`.
    pub(crate) fn expect_close(
        &mut self,
        close: char,
        open: char,
        open_at: usize,
    ) -> ScimResult<()> {
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
    pub(crate) fn parse_primary(&mut self, in_vp: bool) -> ScimResult<Filter> {
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
    pub(crate) fn parse_attr_exp(&mut self, in_vp: bool) -> ScimResult<Filter> {
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
        if let Some(sub) = self.sub_after_filter(ScimType::InvalidFilter)? {
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
    pub(crate) fn parse_attr_tail(
        &mut self,
        path: AttrPath,
        path_text: &str,
    ) -> ScimResult<Filter> {
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
    pub(crate) fn parse_value(&mut self, op_word: &str) -> ScimResult<CompValue> {
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
    pub(crate) fn number(&self, w: &str, at: usize) -> ScimResult<serde_json::Number> {
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
    pub(crate) fn read_string(&mut self) -> ScimResult<String> {
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
    pub(crate) fn hex4(&mut self, esc_at: usize) -> ScimResult<u32> {
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

/// Parses a filter string (RFC 7644 §3.4.2.2) into a [`Filter`].
///
/// Leading and trailing whitespace is ignored. Keywords are case-insensitive; string
/// literals are JSON strings (all escapes, `\uXXXX` with surrogate pairs); numbers are
/// JSON numbers. Strings like `"True"` stay [`CompValue::String`] (evaluation treats them
/// as booleans against boolean attributes).
///
/// Errors: 400 `invalidFilter` with detail
/// `invalid filter at position N: expected ..., found ...` (N is a 1-based character
/// offset) for any syntax error, an input over [`MAX_FILTER_LEN`](crate::filter::MAX_FILTER_LEN) bytes, or nesting over
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
