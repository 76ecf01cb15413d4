//! What kind of identifier an attribute is, and the characters an identifier may not hold
//! (see [`crate::limits`] for the rule and its errors). A leaf: the schema marks attributes
//! with [`Identifier`], the limits check values against [`refused_char`].

/// What kind of identifier an attribute is, for scimd (not an RFC 7643 characteristic, and
/// not published in `/Schemas`): its lookup and uniqueness key is its NFC form, case-folded
/// unless the attribute is `caseExact` ([`crate::canonical::identifier_key`]), and some
/// invisible or control characters are refused in it ([`refused_char`]). Set on `userName`,
/// `externalId` and a Group's `displayName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    /// An account identifier (`userName`, `externalId`): no control, zero-width,
    /// bidirectional-formatting or line/paragraph-separator character at all.
    Account,
    /// A name people read (a Group's `displayName`): the same, except the zero-width
    /// non-joiner and joiner (U+200C, U+200D), which Persian and Indic names need.
    Name,
}

/// The first character identifier `s` of `kind` may not hold: its 1-based character
/// position and the character. See the module documentation for the set.
pub fn refused_char(s: &str, kind: Identifier) -> Option<(usize, char)> {
    s.chars().enumerate().find_map(|(i, c)| {
        let refused = match c {
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
            '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{2028}' | '\u{2029}' => true,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
            '\u{200c}' | '\u{200d}' => kind == Identifier::Account,
            _ => false,
        };
        refused.then_some((i + 1, c))
    })
}

/// What a refused character is, for error details.
pub(crate) fn char_name(c: char) -> &'static str {
    match c {
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => "a control character",
        '\u{200b}' => "ZERO WIDTH SPACE",
        '\u{200c}' => "ZERO WIDTH NON-JOINER",
        '\u{200d}' => "ZERO WIDTH JOINER",
        '\u{2060}' => "WORD JOINER",
        '\u{feff}' => "ZERO WIDTH NO-BREAK SPACE (byte-order mark)",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        _ => "a bidirectional formatting character",
    }
}
