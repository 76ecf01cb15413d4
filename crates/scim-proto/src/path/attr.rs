//! Attribute paths (RFC 7644 §3.10): `attrPath = [URI ":"] ATTRNAME *1subAttr`, the type,
//! its rendering, and the grammar of attribute names and paths on the shared [`Parser`].

use crate::error::{ScimResult, ScimType};
use crate::lexer::{check_len, clip, Parser};
use std::fmt;

/// An attribute path: optional schema URN, attribute name, optional sub-attribute.
///
/// Names are kept as written; comparisons against schema names are case-insensitive
/// (RFC 7643 §2.1). `uri` is `None` when the path is not URN-qualified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// Schema URN prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub uri: Option<String>,
    /// Top-level attribute name, e.g. `emails`.
    pub attr: String,
    /// Sub-attribute name, e.g. `value` in `emails.value`.
    pub sub_attr: Option<String>,
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

impl AttrPath {
    /// Parses `[URI ":"] ATTRNAME ["." subAttr]`.
    ///
    /// Errors: 400 invalidPath naming the offending position.
    pub fn parse(s: &str) -> ScimResult<AttrPath> {
        parse_attr_path(s)
    }
}

impl<'a> Parser<'a> {
    /// Starts reading a path (attribute or PATCH path): the length limit, leading
    /// whitespace, then the attribute path token. Returns the parser positioned after the
    /// token, the token as written, and the path. `empty` is the detail for a blank input.
    ///
    /// Errors: 400 invalidPath.
    pub(crate) fn begin_path(
        input: &'a str,
        empty: &str,
    ) -> ScimResult<(Parser<'a>, &'a str, AttrPath)> {
        check_len(input, ScimType::InvalidPath, "path")?;
        let mut p = Parser::new(input, "path");
        p.skip_ws();
        if p.at_end() {
            return Err(p.err(ScimType::InvalidPath, p.pos, empty));
        }
        let (at, tok) = p.read_word();
        let path = p.path_from_token(ScimType::InvalidPath, tok, at)?;
        Ok((p, tok, path))
    }

    /// Ends a path: only whitespace may follow `what` (`"path"`, `"attribute path"`).
    ///
    /// Errors: 400 invalidPath `unexpected ... after <what>`.
    pub(crate) fn end_path(&mut self, what: &str) -> ScimResult<()> {
        self.skip_ws();
        if self.at_end() {
            return Ok(());
        }
        Err(self.err(
            ScimType::InvalidPath,
            self.pos,
            format!("unexpected {} after {what}", self.describe_at(self.pos)),
        ))
    }

    /// After the `]` of a value filter: an optional `.subAttr` (`emails[...].value`), its
    /// name checked with errors of `kind`. `None` when no `.` follows.
    pub(crate) fn sub_after_filter(&mut self, kind: ScimType) -> ScimResult<Option<&'a str>> {
        if self.peek() != Some('.') {
            return Ok(None);
        }
        self.pos += 1;
        let (sat, sub) = self.read_word();
        self.check_attr_name(kind, sub, sat, "a sub-attribute name after '].'")?;
        Ok(Some(sub))
    }

    // ---- paths ----------------------------------------------------------------------

    /// Checks `name` (at byte offset `at`) against `ATTRNAME = ALPHA *(nameChar)` / `$ref`.
    pub(crate) fn check_attr_name(
        &self,
        kind: ScimType,
        name: &str,
        at: usize,
        what: &str,
    ) -> ScimResult<()> {
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
    pub(crate) fn path_from_token(
        &self,
        kind: ScimType,
        tok: &str,
        at: usize,
    ) -> ScimResult<AttrPath> {
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
}

/// Parses an attribute path (used by [`AttrPath::parse`]). Errors: 400 invalidPath.
///
/// Grammar: `[URI ":"] ATTRNAME ["." subAttr]` (RFC 7644 §3.10), surrounding whitespace
/// ignored. The URI is everything before the last `:`. Detail:
/// `invalid path at position N: ...` (1-based character offset).
pub fn parse_attr_path(input: &str) -> ScimResult<AttrPath> {
    let (mut p, _, path) = Parser::begin_path(input, "empty attribute path")?;
    p.end_path("attribute path")?;
    Ok(path)
}
