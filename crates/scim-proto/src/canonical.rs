//! Canonical forms of values: the case fold of case-insensitive strings (RFC 7643 §2.1)
//! and the one spelling of a dateTime (RFC 7643 §2.3.5). A leaf module: the filter
//! evaluator, the normaliser, the PATCH engine and the stores all compare and store
//! values in these forms.

/// The case fold used for every case-insensitive string comparison (RFC 7643 §2.1,
/// `caseExact: false`): Unicode lower-casing with [`str::to_lowercase`]. Storage layers
/// must fold lookup columns and literals with exactly this function.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// Normalises an `xsd:dateTime` / RFC 3339 string to UTC, formatted with
/// `time::format_description::well_known::Rfc3339`: `YYYY-MM-DDTHH:MM:SSZ`, or with the
/// fraction of a second (trailing zeros trimmed) when it is not zero. A date-time without an
/// offset is read as UTC. `None` when `s` is not a valid date-time or its year is outside
/// 0000..=9999.
///
/// Equal instants give equal strings, and string order is time order for instants in
/// different seconds (within one second, `...05Z` sorts after `...05.5Z`). Filters and
/// stores comparing dateTime attributes should normalise the literal with this function.
pub fn normalize_date_time(s: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
    let s = s.trim();
    let dt = match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(dt) => dt,
        Err(_) => {
            let fmt = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
            );
            PrimitiveDateTime::parse(s, &fmt).ok()?.assume_utc()
        }
    };
    dt.checked_to_offset(UtcOffset::UTC)?.format(&Rfc3339).ok()
}
