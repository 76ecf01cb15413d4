//! Timestamps as stored: RFC 3339 UTC text with exactly six fractional digits
//! (`2026-11-30T11:22:33.123456Z`), so that text order is time order.
//!
//! Precision is the microsecond (as PostgreSQL's `timestamptz`): sub-microsecond parts are
//! truncated when writing, so a value read back may differ from the one written by less
//! than a microsecond.

use scimd_directory::store::StoreError;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

const STORED: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Formats `t` in the stored form (converted to UTC, truncated to the microsecond).
pub(crate) fn format(t: OffsetDateTime) -> String {
    let utc = t.to_offset(UtcOffset::UTC);
    let utc = utc
        .replace_nanosecond(utc.nanosecond() / 1000 * 1000)
        .unwrap_or(utc);
    utc.format(STORED).unwrap_or_else(|_| {
        // Only years outside 0000..=9999 fail; they cannot come from RFC 3339 input.
        utc.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    })
}

/// Parses the stored form (any RFC 3339 text is accepted). Errors: Backend naming the value.
pub(crate) fn parse(s: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(s, STORED)
        .or_else(|_| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339))
        .map_err(|e| StoreError::Backend(format!("bad stored timestamp {s:?}: {e}")))
}

/// A fixed-width, order-preserving key of an instant: `YYYY-MM-DDTHH:MM:SS` in UTC followed
/// by nine fractional digits. The SQL side builds the same key from stored document values
/// (see `sqlite::filter`).
pub(crate) fn instant_key(t: OffsetDateTime) -> String {
    let utc = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{:09}",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.nanosecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_precision_round_trip() {
        let t = datetime!(2026-11-30 11:22:33.123456789 +02:00);
        let s = format(t);
        assert_eq!(s, "2026-11-30T09:22:33.123456Z");
        assert_eq!(
            parse(&s).unwrap(),
            datetime!(2026-11-30 09:22:33.123456 UTC)
        );
        assert_eq!(
            format(datetime!(2026-01-01 00:00:00 UTC)),
            "2026-01-01T00:00:00.000000Z"
        );
    }

    fn parse_literal(s: &str) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    }

    #[test]
    fn instant_keys_order() {
        let a = instant_key(parse_literal("2026-01-01T00:00:00Z").unwrap());
        let b = instant_key(parse_literal("2026-01-01T01:00:00.5+01:00").unwrap());
        assert_eq!(a, "2026-01-01T00:00:00000000000");
        assert!(a < b);
    }
}
