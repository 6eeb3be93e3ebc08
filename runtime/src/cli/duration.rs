//! Human durations on the command line: `1500ms`, `30s`, `5m`, `2h`, `7d`.

use std::time::Duration;

/// Parses a duration with a unit suffix.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("duration `{text}` needs a unit (ms, s, m, h or d)"))?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("duration `{text}` must start with a whole number"))?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        other => {
            return Err(format!(
                "duration `{text}` has unknown unit `{other}` (use ms, s, m, h or d)"
            ));
        }
    }
    .ok_or_else(|| format!("duration `{text}` is too long"))?;
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_errors() {
        assert_eq!(parse("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse("7").unwrap_err().contains("unit"));
        assert!(parse("7w").unwrap_err().contains("`w`"));
        assert!(parse("s").unwrap_err().contains("whole number"));
        assert!(parse("99999999999999999999d").is_err());
    }
}
