//! Lifetimes written as a whole number and a unit (`90d`, `12h`, `30m`, `10s`): a static
//! token's `--expires-in` / `"expiresIn"` (units `m`, `h`, `d`) and `--access-token-ttl`
//! (units `s`, `m`, `h`).

use time::Duration;

/// The units of a static token's lifetime: minutes, hours, days.
pub const TOKEN_UNITS: &[char] = &['m', 'h', 'd'];
/// The units of an access token's lifetime: seconds, minutes, hours.
pub const TTL_UNITS: &[char] = &['s', 'm', 'h'];

/// Parses `text` (`90d`: a positive whole number, then one of `units`).
///
/// Errors: a message naming the accepted form and what was given.
pub fn parse(text: &str, units: &[char]) -> Result<Duration, String> {
    let t = text.trim();
    let expected = || format!("expected {}; got {text:?}", accepted(units));
    let Some(unit) = t.chars().last().filter(|c| units.contains(c)) else {
        return Err(expected());
    };
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 9 {
        return Err(expected());
    }
    let n: i64 = digits.parse().map_err(|_| expected())?;
    if n == 0 {
        return Err(expected());
    }
    Ok(match unit {
        's' => Duration::seconds(n),
        'm' => Duration::minutes(n),
        'h' => Duration::hours(n),
        _ => Duration::days(n),
    })
}

/// The form a lifetime in `units` takes, as [`parse`]'s error says it: "a positive whole
/// number followed by m (minutes), h (hours), d (days), e.g. 90d" (also the hint of the
/// portal's Expires-in field).
pub fn accepted(units: &[char]) -> String {
    let names: Vec<String> = units
        .iter()
        .map(|u| format!("{u} ({})", name(*u)))
        .collect();
    format!(
        "a positive whole number followed by {}, e.g. {}",
        names.join(", "),
        example(units)
    )
}

fn name(u: char) -> &'static str {
    match u {
        's' => "seconds",
        'm' => "minutes",
        'h' => "hours",
        _ => "days",
    }
}

fn example(units: &[char]) -> &'static str {
    if units.contains(&'d') {
        "90d"
    } else {
        "1h"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse("90d", TOKEN_UNITS), Ok(Duration::days(90)));
        assert_eq!(parse(" 12h ", TOKEN_UNITS), Ok(Duration::hours(12)));
        assert_eq!(parse("30m", TOKEN_UNITS), Ok(Duration::minutes(30)));
        assert_eq!(parse("2s", TTL_UNITS), Ok(Duration::seconds(2)));
        for bad in [
            "",
            "d",
            "0d",
            "-1d",
            "1.5d",
            "90",
            "90w",
            "1s",
            "9999999999d",
            "1 d",
        ] {
            let e = parse(bad, TOKEN_UNITS).unwrap_err();
            assert!(e.contains("m (minutes), h (hours), d (days)"), "{bad}: {e}");
        }
        assert!(parse("1d", TTL_UNITS).is_err());
    }
}
