//! Durations as operators write them, in realm files, flags and the CLI.

use std::time::Duration;

pub(crate) const MINUTE: Duration = Duration::from_secs(60);
pub(crate) const HOUR: Duration = Duration::from_secs(60 * 60);
pub(crate) const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest duration accepted (100 years), in a realm file, a flag or the
/// CLI: every expiry is then far from overflowing when added to the current
/// time.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(36_525 * 24 * 60 * 60);

/// Parses a duration in `humantime`'s syntax (`"500ms"`, `"300s"`, `"5m"`,
/// `"1h 30m"`, `"30d"`) or a bare number of seconds (`"300"`), at most
/// [`MAX_DURATION`], in whole milliseconds (the resolution of every stored
/// time: a finer part is dropped).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("duration {text:?} is too large (at most 36525d)"))?
    } else {
        humantime::parse_duration(text).map_err(|error| {
            format!("invalid duration {text:?}: {error} (use e.g. 300s, 5m, 10h, 30d)")
        })?
    };
    u64::try_from(parsed.as_millis())
        .ok()
        .map(Duration::from_millis)
        .filter(|duration| *duration <= MAX_DURATION)
        .ok_or_else(|| format!("duration {text:?} is too large (at most 36525d)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("30d").unwrap(), 30 * DAY);
        assert_eq!(parse_duration("1h 30m").unwrap(), 90 * MINUTE);
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1500us").unwrap(), Duration::from_millis(1));
        for bad in [
            "",
            "m",
            "5 fortnights",
            "-5m",
            "5m-",
            "99999999999999999999d",
            "99999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
