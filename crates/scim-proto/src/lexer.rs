//! The lexical layer shared by the filter grammar and the attribute / PATCH path grammar
//! (RFC 7644 §3.4.2.2, §3.5.2, §3.10): a cursor over the input with whitespace and word
//! handling, position-bearing error messages, and the length limit.
//!
//! [`Parser`] is one hand-written recursive-descent parser whose methods are grouped by
//! concern: this file holds the cursor; [`crate::path::attr`] adds attribute names and
//! paths; [`crate::filter::parser`] adds filter expressions and literals. Error details have
//! the form `invalid <label> at position N: ...` with `N` a 1-based character offset.

use crate::error::{ScimError, ScimResult, ScimType};
pub(crate) use crate::json::clip;
use std::fmt;

/// Maximum length of a filter string or PATCH path in bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;

/// Whitespace between tokens (lenient: space, tab, CR, LF, FF).
pub(crate) fn is_ws(c: char) -> bool {
    c.is_ascii_whitespace()
}

/// Characters that end a word (an attribute path, operator, keyword or bare literal).
pub(crate) fn is_delim(c: char) -> bool {
    is_ws(c) || matches!(c, '(' | ')' | '[' | ']' | '"')
}

/// The parser state: the input, a cursor, and the nesting depth of the filter grammar.
pub(crate) struct Parser<'a> {
    pub(crate) src: &'a str,
    /// Byte offset of the cursor; always on a char boundary.
    pub(crate) pos: usize,
    /// Nesting depth of parentheses, `not` and valuePaths (see [`crate::filter::MAX_FILTER_DEPTH`]).
    pub(crate) depth: usize,
    /// `"filter"` or `"path"`, for error messages.
    pub(crate) label: &'static str,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, label: &'static str) -> Self {
        Parser {
            src,
            pos: 0,
            depth: 0,
            label,
        }
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// Skips whitespace; returns whether any was skipped.
    pub(crate) fn skip_ws(&mut self) -> bool {
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
    pub(crate) fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let end = rest.find(is_delim).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Consumes and returns the word at the cursor with its byte offset.
    pub(crate) fn read_word(&mut self) -> (usize, &'a str) {
        let start = self.pos;
        let w = self.peek_word();
        self.pos += w.len();
        (start, w)
    }

    /// 1-based character position of byte offset `at`.
    pub(crate) fn char_pos(&self, at: usize) -> usize {
        let at = at.min(self.src.len());
        // `at` is always a char boundary (it comes from the cursor or from a char
        // index); fall back to a safe count if it were not.
        self.src
            .get(..at)
            .map(|s| s.chars().count())
            .unwrap_or_else(|| self.src.char_indices().take_while(|(i, _)| *i < at).count())
            + 1
    }

    pub(crate) fn err(&self, kind: ScimType, at: usize, msg: impl fmt::Display) -> ScimError {
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

    pub(crate) fn ferr(&self, at: usize, msg: impl fmt::Display) -> ScimError {
        self.err(ScimType::InvalidFilter, at, msg)
    }

    /// Describes what is at byte offset `at`, for "found ..." in messages.
    pub(crate) fn describe_at(&self, at: usize) -> String {
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
}

/// Fails with `kind` when `input` is longer than [`MAX_FILTER_LEN`] bytes.
pub(crate) fn check_len(input: &str, kind: ScimType, what: &str) -> ScimResult<()> {
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
