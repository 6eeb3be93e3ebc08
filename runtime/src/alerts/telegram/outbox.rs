//! What reaches the chats, and when: an alert repeated within the dedupe
//! window is counted, not sent (the next one sent says how often it came);
//! past the per-minute budget alerts are held and summed up in one message
//! when the minute is over. Nothing here sends; it decides the texts.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::alerts::{Alert, Severity};

const MINUTE: Duration = Duration::from_secs(60);
/// Alerts remembered for deduplication at most (the oldest go first).
const REMEMBERED: usize = 1_000;

/// The decisions on alerts offered so far.
#[derive(Debug)]
pub struct Outbox {
    dedupe: Duration,
    per_minute: u32,
    /// Last sent, and repeats since, by alert key.
    recent: HashMap<String, (Instant, u32)>,
    window: Option<(Instant, u32)>,
    /// Held past the budget: counts by kind, and the most severe.
    held: BTreeMap<&'static str, u32>,
    held_worst: Option<Severity>,
}

fn key(a: &Alert) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        a.kind,
        a.strategy.as_deref().unwrap_or(""),
        a.message
    )
}

/// The text a chat gets for `a`.
pub fn text(a: &Alert, repeats: u32) -> String {
    let mut t = format!("[{}] {}", a.severity.as_str(), a.kind);
    if let Some(s) = &a.strategy {
        t.push_str(&format!(" · {s}"));
    }
    t.push('\n');
    t.push_str(&a.message);
    if repeats > 0 {
        t.push_str(&format!(
            "\n(and {repeats} more times since it was last sent)"
        ));
    }
    t
}

impl Outbox {
    pub fn new(dedupe: Duration, per_minute: u32) -> Outbox {
        Outbox {
            dedupe,
            per_minute: per_minute.max(1),
            recent: HashMap::new(),
            window: None,
            held: BTreeMap::new(),
            held_worst: None,
        }
    }

    /// The text to send for `a` now, if any.
    pub fn offer(&mut self, a: &Alert, now: Instant) -> Option<String> {
        let k = key(a);
        let repeats = match self.recent.get_mut(&k) {
            Some((sent, repeats)) if now.saturating_duration_since(*sent) < self.dedupe => {
                *repeats += 1;
                return None;
            }
            Some((_, repeats)) => *repeats,
            None => 0,
        };
        if !self.spend(now) {
            *self.held.entry(a.kind).or_default() += 1;
            self.held_worst = self.held_worst.max(Some(a.severity));
            return None;
        }
        self.remember(k, now);
        Some(text(a, repeats))
    }

    /// Once the minute whose budget ran out is over: one message summing up
    /// what was held.
    pub fn tick(&mut self, now: Instant) -> Option<String> {
        if self.held.is_empty() || !self.spend(now) {
            return None;
        }
        let total: u32 = self.held.values().sum();
        let kinds = self
            .held
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let worst = self.held_worst.unwrap_or(Severity::Info).as_str();
        self.held.clear();
        self.held_worst = None;
        Some(format!(
            "[{worst}] {total} more alerts past the limit of {} a minute: {kinds}. The dashboard's alerts page lists them all.",
            self.per_minute
        ))
    }

    /// Takes one message from this minute's budget, if any is left.
    fn spend(&mut self, now: Instant) -> bool {
        let (start, sent) = self.window.get_or_insert((now, 0));
        if now.saturating_duration_since(*start) >= MINUTE {
            *start = now;
            *sent = 0;
        }
        if *sent >= self.per_minute {
            return false;
        }
        *sent += 1;
        true
    }

    fn remember(&mut self, k: String, now: Instant) {
        if self.recent.len() >= REMEMBERED && !self.recent.contains_key(&k) {
            let dedupe = self.dedupe;
            self.recent
                .retain(|_, (sent, _)| now.saturating_duration_since(*sent) < dedupe);
            if self.recent.len() >= REMEMBERED
                && let Some(oldest) = self
                    .recent
                    .iter()
                    .min_by_key(|(_, (sent, _))| *sent)
                    .map(|(k, _)| k.clone())
            {
                self.recent.remove(&oldest);
            }
        }
        self.recent.insert(k, (now, 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(kind: &'static str, message: &str) -> Alert {
        Alert {
            ts_ms: 0,
            severity: Severity::Warning,
            kind,
            strategy: Some("mm".into()),
            message: message.into(),
        }
    }

    #[test]
    fn a_repeat_within_the_window_is_counted_and_told_with_the_next_one_sent() {
        let mut o = Outbox::new(Duration::from_secs(600), 20);
        let t0 = Instant::now();
        let a = alert("feed_down", "the market feed is down");
        assert!(o.offer(&a, t0).unwrap().contains("the market feed is down"));
        for i in 1..=3 {
            assert_eq!(o.offer(&a, t0 + Duration::from_secs(i)), None);
        }
        // Another alert is not a repeat.
        assert!(o.offer(&alert("feed_up", "back"), t0).is_some());
        let later = o.offer(&a, t0 + Duration::from_secs(601)).unwrap();
        assert!(later.contains("and 3 more times"), "{later}");
        // Its count starts again.
        assert_eq!(o.offer(&a, t0 + Duration::from_secs(602)), None);
    }

    #[test]
    fn past_the_budget_alerts_are_held_and_summed_up_when_the_minute_is_over() {
        let mut o = Outbox::new(Duration::from_secs(600), 3);
        let t0 = Instant::now();
        let sent = (0..10)
            .filter_map(|i| o.offer(&alert("strategy_fault", &format!("fault {i}")), t0))
            .count();
        assert_eq!(sent, 3);
        assert_eq!(o.tick(t0 + Duration::from_secs(30)), None, "same minute");
        let summary = o.tick(t0 + Duration::from_secs(61)).unwrap();
        assert!(summary.contains("7 more alerts"), "{summary}");
        assert!(summary.contains("strategy_fault ×7"), "{summary}");
        assert_eq!(o.tick(t0 + Duration::from_secs(62)), None, "said once");
    }

    #[test]
    fn memory_of_sent_alerts_stays_bounded() {
        let mut o = Outbox::new(Duration::from_secs(600), u32::MAX);
        let t0 = Instant::now();
        for i in 0..(3 * REMEMBERED) {
            o.offer(&alert("strategy_fault", &format!("fault {i}")), t0);
        }
        assert!(o.recent.len() <= REMEMBERED);
    }
}
