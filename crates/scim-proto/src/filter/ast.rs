//! The filter AST (RFC 7644 §3.4.2.2): comparison operators, literals, expressions, and
//! their canonical rendering (which [`crate::filter::parse`] reads back to an equal AST).

use crate::path::attr::AttrPath;
use std::fmt;

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

impl Filter {
    /// The operands of the `and` chain at the top of this filter, left to right:
    /// `a and (b and c)` gives `[a, b, c]`; a filter that is no `and` is its own one operand.
    pub fn conjuncts(&self) -> Vec<&Filter> {
        self.operands(|f| match f {
            Filter::And(a, b) => Some((a, b)),
            _ => None,
        })
    }

    /// The operands of the `or` chain at the top of this filter, left to right, as
    /// [`Filter::conjuncts`] for `and`.
    pub fn disjuncts(&self) -> Vec<&Filter> {
        self.operands(|f| match f {
            Filter::Or(a, b) => Some((a, b)),
            _ => None,
        })
    }

    /// The attribute name and literal of `attr eq value` on a bare attribute name (no schema
    /// URN, no sub-attribute), as a filter inside a PATCH path's valuePath names an element
    /// (RFC 7644 §3.5.2); `None` for any other filter.
    pub fn bare_eq(&self) -> Option<(&str, &CompValue)> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.uri.is_none() && path.sub_attr.is_none() => Some((&path.attr, value)),
            _ => None,
        }
    }

    /// The leaves of the tree of the nodes `split` opens, left to right (no recursion: a
    /// chain as deep as the filter's length is read on the heap).
    fn operands<'f>(
        &'f self,
        split: impl Fn(&'f Filter) -> Option<(&'f Filter, &'f Filter)>,
    ) -> Vec<&'f Filter> {
        let (mut out, mut stack) = (Vec::new(), vec![self]);
        while let Some(f) = stack.pop() {
            match split(f) {
                Some((a, b)) => stack.extend([b, a]),
                None => out.push(f),
            }
        }
        out
    }

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
/// [`parse`](crate::filter::parse) of the output yields an equal AST.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_prec(f, 0)
    }
}
