//! UTC calendar arithmetic for timestamps (no time-zone database needed).

/// (year, month, day) of a day count since 1970-01-01 (Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a civil date, or `None` if it is not a real date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (civil(days) == (y, m, d)).then_some(days)
}

/// `YYYY-MM-DD` of a millisecond timestamp.
pub fn utc_day(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` into the first millisecond of that UTC day.
pub fn parse_day(text: &str) -> Option<i64> {
    let mut it = text.split('-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    if it.next().is_some() || text.len() != 10 {
        return None;
    }
    days_from_civil(y, m, d).map(|days| days * 86_400_000)
}

/// `YYYY-MM-DD HH:MM:SS` of a nanosecond timestamp.
pub fn utc_datetime(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        utc_day(secs * 1_000),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Nanoseconds since the Unix epoch by the wall clock (0 before 1970).
pub fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_midnights() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(1_767_225_599_999), "2025-12-31");
        assert_eq!(utc_day(1_767_225_600_000), "2026-01-01");
        assert_eq!(utc_day(-1), "1969-12-31");
        assert_eq!(parse_day("2026-01-01"), Some(1_767_225_600_000));
        assert_eq!(
            parse_day("2024-02-29").map(utc_day),
            Some("2024-02-29".into())
        );
        assert_eq!(parse_day("2023-02-29"), None);
        assert_eq!(parse_day("2023-2-1"), None);
        assert_eq!(parse_day("x"), None);
        assert_eq!(
            utc_datetime(1_767_225_661_000_000_000),
            "2026-01-01 00:01:01"
        );
    }
}
