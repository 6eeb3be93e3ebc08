//! `pqap data import`: recorded market-channel JSONL (the venue's own messages, or
//! collector wrappers `{recv_ms, event_ts_ms, payload}` whose payload lacks its
//! type) into day partitions, and `/prices-history` series (JSON or CSV) into the
//! index as exact decimal text. Bad lines are reported by number, never fatal.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Archive, ArchiveError, io_err, sql_err};
use crate::data::update::FeedUpdate;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub lines: u64,
    /// Payloads (or price points) imported.
    pub imported: u64,
    /// Venue messages in them (a `price_change` message is one, however many
    /// levels it changes), and of those: book snapshots, level changes, trades.
    pub messages: u64,
    pub books: u64,
    pub level_changes: u64,
    pub trades: u64,
    pub bad: u64,
    /// The first bad lines: (line number, why).
    pub first_bad: Vec<(u64, String)>,
}

impl ImportReport {
    fn count(&mut self, u: &FeedUpdate) {
        self.imported += 1;
        self.messages += u.events.len() as u64;
        for e in &u.events {
            match e {
                crate::model::MarketEvent::Book { .. } => self.books += 1,
                crate::model::MarketEvent::PriceChange { changes, .. } => {
                    self.level_changes += changes.len() as u64;
                }
                crate::model::MarketEvent::LastTrade { .. } => self.trades += 1,
                _ => {}
            }
        }
    }

    fn bad_line(&mut self, line: u64, why: impl ToString) {
        self.bad += 1;
        if self.first_bad.len() < 10 {
            self.first_bad.push((line, why.to_string()));
        }
    }
}

fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, ArchiveError> {
    let f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let reader: Box<dyn Read + Send> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(f))
    } else {
        Box::new(f)
    };
    Ok(Box::new(BufReader::new(reader)))
}

/// A millisecond stamp written as a number or as a string of digits.
fn raw_ms(v: &RawValue) -> Option<u64> {
    let t = v.get();
    t.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t)
        .parse()
        .ok()
}

fn as_ms(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The fields a bare venue message is told apart by, borrowed: most lines of
/// a recording are bare messages, and their text is the frame as it is.
#[derive(serde::Deserialize)]
struct Bare<'a> {
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
    #[serde(borrow)]
    timestamp: Option<&'a RawValue>,
}

/// One line as a venue frame plus its receive time, or why not.
fn line_to_frame(text: &str) -> Result<(u64, String), String> {
    // A line naming `payload` anywhere (even as null) takes the full path.
    if !text.contains("\"payload\"")
        && let Ok(Bare {
            payload: None,
            timestamp: Some(ts),
        }) = serde_json::from_str::<Bare>(text)
        && let Some(ts) = raw_ms(ts)
    {
        return Ok((ts, text.to_string()));
    }
    full_line_to_frame(text)
}

/// [`line_to_frame`] for any line: parsed whole, a wrapper's payload
/// completed from the wrapper.
fn full_line_to_frame(text: &str) -> Result<(u64, String), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(payload) = value.get("payload") else {
        // A raw venue message or frame: its own timestamp is the receive time.
        let first = match &value {
            Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        let ts = as_ms(first.get("timestamp")).ok_or("message has no usable `timestamp`")?;
        return Ok((ts, text.to_string()));
    };
    let recv = as_ms(value.get("recv_ms"))
        .or_else(|| as_ms(value.get("event_ts_ms")))
        .ok_or("wrapper has neither `recv_ms` nor `event_ts_ms`")?;
    let mut payload = payload.clone();
    let Value::Object(obj) = &mut payload else {
        return Err("`payload` is not an object".into());
    };
    if !obj.contains_key("event_type") {
        let kind = if obj.contains_key("bids") || obj.contains_key("asks") {
            "book"
        } else if obj.contains_key("price_changes") {
            "price_change"
        } else if obj.contains_key("price") && obj.contains_key("size") && obj.contains_key("side")
        {
            "last_trade_price"
        } else {
            return Err("cannot tell the payload's event type".into());
        };
        obj.insert("event_type".into(), Value::String(kind.into()));
    }
    if !obj.contains_key("timestamp") {
        let ts = as_ms(value.get("event_ts_ms")).unwrap_or(recv);
        obj.insert("timestamp".into(), Value::String(ts.to_string()));
    }
    if !obj.contains_key("market") {
        let market = value
            .get("market")
            .or_else(|| value.get("condition_id"))
            .cloned()
            .ok_or("payload and wrapper name no `market`")?;
        obj.insert("market".into(), market);
    }
    Ok((recv, payload.to_string()))
}

pub(super) async fn ws_jsonl(archive: &Archive, path: &Path) -> Result<ImportReport, ArchiveError> {
    let mut report = ImportReport::default();
    let mut recorder = archive.recorder().with_batch(20_000);
    let lines = open(path)?;
    // Lines are parsed and decoded on their own thread while this one writes:
    // the two halves cost about the same.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Parsed>>(8);
    let owned = path.to_path_buf();
    let parser = std::thread::Builder::new()
        .name("pqap-import-parse".into())
        .spawn(move || parse_lines(lines, &owned, &tx))
        .map_err(|e| io_err(path, format!("starting the parser: {e}")))?;
    while let Some(batch) = rx.recv().await {
        for parsed in batch {
            report.lines += 1;
            match parsed {
                Parsed::Update(update) => {
                    report.count(&update);
                    recorder.record(&update).await?;
                }
                Parsed::Bad(n, why) => report.bad_line(n, why),
            }
        }
    }
    parser
        .join()
        .map_err(|_| io_err(path, "the parser thread panicked"))??;
    recorder.finish().await?;
    Ok(report)
}

/// A non-blank line of a recording, parsed.
enum Parsed {
    Update(FeedUpdate),
    /// Its line number and why it is not data.
    Bad(u64, String),
}

/// Parses `lines` into batches for `tx`; stops early if the writer has gone.
fn parse_lines(
    lines: Box<dyn BufRead + Send>,
    path: &Path,
    tx: &tokio::sync::mpsc::Sender<Vec<Parsed>>,
) -> Result<(), ArchiveError> {
    const BATCH: usize = 1_024;
    let mut batch = Vec::with_capacity(BATCH);
    for (i, line) in lines.lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|e| io_err(path, format!("line {n}: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        batch.push(parse_line(n, &line));
        if batch.len() == BATCH
            && tx
                .blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                .is_err()
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    Ok(())
}

fn parse_line(n: u64, line: &str) -> Parsed {
    let (recv, frame) = match line_to_frame(line) {
        Ok(x) => x,
        Err(why) => return Parsed::Bad(n, why),
    };
    let Some(update) = FeedUpdate::from_frame(recv, 0, frame) else {
        return Parsed::Bad(n, "a keep-alive, not data".into());
    };
    if update.events.is_empty() {
        let why = update
            .errors
            .first()
            .map_or_else(|| "no events".to_string(), ToString::to_string);
        return Parsed::Bad(n, why);
    }
    Parsed::Update(update)
}

#[derive(serde::Deserialize)]
struct HistoryPoint<'a> {
    t: u64,
    #[serde(borrow)]
    p: &'a RawValue,
}

#[derive(serde::Deserialize)]
struct History<'a> {
    #[serde(borrow)]
    history: Vec<HistoryPoint<'a>>,
}

/// Splits one CSV record (RFC 4180 quotes; no embedded newlines).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    out.push(field);
    Ok(out)
}

/// `2022-12-17 00:00:08` (UTC) to milliseconds.
fn csv_time(text: &str) -> Option<i64> {
    let (date, clock) = text.trim().split_once(' ')?;
    let day = crate::model::time::parse_day(date)?;
    let mut it = clock.split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let s: i64 = it.next()?.split('.').next()?.parse().ok()?;
    Some(day + ((h * 60 + m) * 60 + s) * 1_000)
}

fn valid_price(text: &str) -> Result<String, String> {
    let d: rust_decimal::Decimal = text
        .trim()
        .parse()
        .map_err(|e| format!("price `{text}`: {e}"))?;
    if d < rust_decimal::Decimal::ZERO || d > rust_decimal::Decimal::ONE {
        return Err(format!("price `{text}` is outside [0, 1]"));
    }
    Ok(d.normalize().to_string())
}

pub(super) async fn prices(
    archive: &Archive,
    path: &Path,
    token: Option<&str>,
) -> Result<ImportReport, ArchiveError> {
    let mut report = ImportReport::default();
    let mut points: Vec<(String, i64, String)> = Vec::new();
    if path.extension().is_some_and(|e| e == "csv") {
        let mut header: Option<Vec<String>> = None;
        for (i, line) in open(path)?.lines().enumerate() {
            let n = i as u64 + 1;
            let line = line.map_err(|e| io_err(path, format!("line {n}: {e}")))?;
            let fields = match csv_fields(&line) {
                Ok(f) => f,
                Err(why) => {
                    report.bad_line(n, why);
                    continue;
                }
            };
            let Some(h) = &header else {
                header = Some(fields);
                continue;
            };
            report.lines += 1;
            let col = |name: &str| h.iter().position(|c| c == name).and_then(|i| fields.get(i));
            match (
                col("token_id"),
                col("timestamp").and_then(|t| csv_time(t)),
                col("price"),
            ) {
                (Some(t), Some(ms), Some(p)) if !t.is_empty() => match valid_price(p) {
                    Ok(p) => points.push((t.clone(), ms, p)),
                    Err(why) => report.bad_line(n, why),
                },
                _ => report.bad_line(
                    n,
                    "needs token_id, timestamp (YYYY-MM-DD HH:MM:SS) and price",
                ),
            }
        }
    } else {
        let token = token.ok_or_else(|| {
            ArchiveError::Refused(
                "a /prices-history JSON needs --token (the series has no token in it)".into(),
            )
        })?;
        let mut text = String::new();
        open(path)?
            .read_to_string(&mut text)
            .map_err(|e| io_err(path, e))?;
        let history: History = serde_json::from_str(&text)
            .map_err(|e| io_err(path, format!("not a /prices-history response: {e}")))?;
        for (i, pt) in history.history.iter().enumerate() {
            report.lines += 1;
            match valid_price(pt.p.get().trim_matches('"')) {
                Ok(p) => points.push((
                    token.to_string(),
                    i64::try_from(pt.t).unwrap_or(i64::MAX / 1_000) * 1_000,
                    p,
                )),
                Err(why) => report.bad_line(i as u64 + 1, why),
            }
        }
    }
    let index_path = archive.dir().join("index.sqlite");
    let mut tx = archive
        .index()
        .begin()
        .await
        .map_err(sql_err(&index_path))?;
    for (token, ms, price) in &points {
        sqlx::query("INSERT OR REPLACE INTO price_points (token, t_ms, price) VALUES (?, ?, ?)")
            .bind(token)
            .bind(ms)
            .bind(price)
            .execute(&mut *tx)
            .await
            .map_err(sql_err(&index_path))?;
    }
    tx.commit().await.map_err(sql_err(&index_path))?;
    report.imported = points.len() as u64;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bare_message_shortcut_agrees_with_the_full_parse() {
        let m = format!("0x{}", "ab".repeat(32));
        let lines = [
            format!(
                r#"{{"event_type":"book","asset_id":"1","market":"{m}","timestamp":"1767225600123","bids":[],"asks":[]}}"#
            ),
            format!(
                r#"{{"event_type":"book","asset_id":"1","market":"{m}","timestamp":1767225600123,"bids":[],"asks":[]}}"#
            ),
            format!(r#"{{"timestamp":"12x","event_type":"book","market":"{m}"}}"#),
            format!(r#"{{"event_type":"book","market":"{m}"}}"#),
            format!(
                r#"[{{"event_type":"book","asset_id":"1","market":"{m}","timestamp":"5","bids":[],"asks":[]}}]"#
            ),
            format!(r#"{{"payload":null,"timestamp":"5","market":"{m}"}}"#),
            format!(
                r#"{{"recv_ms":7,"payload":{{"asset_id":"1","bids":[],"asks":[]}},"market":"{m}"}}"#
            ),
            "not json".to_string(),
        ];
        for line in &lines {
            assert_eq!(line_to_frame(line), full_line_to_frame(line), "{line}");
        }
    }

    #[test]
    fn csv_quotes_and_times() {
        assert_eq!(
            csv_fields(r#"1,"a, ""b""",x"#).unwrap(),
            vec!["1".to_string(), r#"a, "b""#.to_string(), "x".to_string()]
        );
        assert!(csv_fields(r#"1,"oops"#).is_err());
        assert_eq!(csv_time("1970-01-02 00:00:01"), Some(86_401_000));
        assert_eq!(csv_time("1970-01-02"), None);
        assert_eq!(valid_price("0.5000").unwrap(), "0.5");
        assert!(valid_price("1.5").is_err());
    }

    #[test]
    fn wrapper_lines_get_type_time_and_market() {
        let line = r#"{"recv_ms":1000,"event_ts_ms":990,"market":"0xab","payload":{"asset_id":"1","bids":[],"asks":[]}}"#;
        let (recv, frame) = line_to_frame(line).unwrap();
        assert_eq!(recv, 1000);
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["event_type"], "book");
        assert_eq!(v["timestamp"], "990");
        assert_eq!(v["market"], "0xab");
        assert!(
            line_to_frame(r#"{"recv_ms":1,"payload":{"x":1}}"#)
                .unwrap_err()
                .contains("event type")
        );
        assert!(
            line_to_frame(r#"{"event_type":"book"}"#)
                .unwrap_err()
                .contains("timestamp")
        );
    }
}
