//! Replays a run's market data in receive order, one update at a time and
//! into one reused buffer: the market cut drops other markets' messages, the
//! window cut follows the books up to its start and opens with them.

use std::path::PathBuf;

use super::{Feed, MarketData};
use crate::backtest::BacktestError;
use crate::data::archive::columnar::{BookCarry, DayReader, opening_update};
use crate::data::update::{FeedUpdate, Source};

/// Where the next uncut update comes from.
enum Uncut<'a> {
    Memory {
        updates: &'a [FeedUpdate],
        next: usize,
    },
    Days {
        opening: Option<&'a FeedUpdate>,
        files: &'a [PathBuf],
        next_file: usize,
        reader: Option<Box<DayReader>>,
        /// The run's markets, whose token ids the readers hand out.
        markets: &'a [crate::venue::MarketSpec],
    },
}

impl Uncut<'_> {
    /// Fills `out` with the next update; `false` when the data ends.
    fn next_into(&mut self, out: &mut FeedUpdate) -> Result<bool, BacktestError> {
        match self {
            Uncut::Memory { updates, next } => match updates.get(*next) {
                Some(u) => {
                    *next += 1;
                    out.clone_from(u);
                    Ok(true)
                }
                None => Ok(false),
            },
            Uncut::Days {
                opening,
                files,
                next_file,
                reader,
                markets,
            } => {
                if let Some(o) = opening.take() {
                    out.clone_from(o);
                    return Ok(true);
                }
                loop {
                    if reader.is_none() {
                        let Some(path) = files.get(*next_file) else {
                            return Ok(false);
                        };
                        *next_file += 1;
                        let mut r = DayReader::open(path)?;
                        r.share_tokens(
                            markets.iter().flat_map(|m| m.tokens.iter().map(|(t, _)| t)),
                        );
                        *reader = Some(Box::new(r));
                    }
                    if let Some(r) = reader.as_mut()
                        && r.next_into(out)?
                    {
                        return Ok(true);
                    }
                    *reader = None;
                }
            }
        }
    }
}

/// A pass over a [`MarketData`].
pub struct Replay<'a> {
    data: &'a MarketData,
    uncut: Uncut<'a>,
    current: FeedUpdate,
    /// Books before the window starts, to open it with; `None` once opened.
    carry: Option<BookCarry>,
    /// The window's first update, held back while its opening goes first.
    ahead: Option<FeedUpdate>,
    done: bool,
}

impl<'a> Replay<'a> {
    pub(super) fn new(data: &'a MarketData) -> Replay<'a> {
        let uncut = match &data.feed {
            Feed::Memory(updates) => Uncut::Memory {
                updates: updates.as_slice(),
                next: 0,
            },
            Feed::Days { opening, files, .. } => Uncut::Days {
                opening: opening.as_deref(),
                files: files.as_slice(),
                next_file: 0,
                reader: None,
                markets: &data.markets,
            },
        };
        Replay {
            data,
            uncut,
            current: FeedUpdate {
                received_ms: 0,
                source: Source::Rest,
                raw: String::new(),
                events: Vec::new(),
                errors: Vec::new(),
            },
            carry: data.window.map(|_| BookCarry::new()),
            ahead: None,
            done: false,
        }
    }

    /// The update [`Replay::advance`] moved to.
    pub fn current(&self) -> &FeedUpdate {
        &self.current
    }

    /// Moves to the next update; `false` at the end.
    pub fn advance(&mut self) -> Result<bool, BacktestError> {
        if let Some(next) = self.ahead.take() {
            self.current = next;
            return Ok(true);
        }
        while !self.done {
            if !self.uncut.next_into(&mut self.current)? {
                self.done = true;
                return Ok(self.open_window(None));
            }
            if let Some(keep) = &self.data.keep {
                // Clock ticks (no messages) stay: they are time, not data.
                let ticking = self.current.events.is_empty();
                self.current.events.retain(|e| keep.contains(e.market()));
                if !ticking && self.current.events.is_empty() {
                    continue;
                }
            }
            let Some((start, end)) = self.data.window else {
                return Ok(true);
            };
            let at = self.current.received_ms;
            if at < start {
                if let Some(carry) = self.carry.as_mut() {
                    carry.observe(&self.current);
                }
                continue;
            }
            if at >= end {
                self.done = true;
                return Ok(self.open_window(None));
            }
            if self.carry.is_none() {
                return Ok(true);
            }
            let first = std::mem::take(&mut self.current.events);
            let held = FeedUpdate {
                events: first,
                raw: std::mem::take(&mut self.current.raw),
                errors: std::mem::take(&mut self.current.errors),
                ..self.current
            };
            return Ok(self.open_window(Some(held)));
        }
        Ok(false)
    }

    /// Opens the window (once): its opening update goes first when the books
    /// before it left any, then `first`, the window's first update.
    fn open_window(&mut self, first: Option<FeedUpdate>) -> bool {
        let opening = self.carry.take().and_then(|carry| {
            let start = self.data.window.map_or(0, |(s, _)| s);
            opening_update(carry.state(start), start)
        });
        match (opening, first) {
            (Some(o), first) => {
                self.current = o;
                self.ahead = first;
                true
            }
            (None, Some(first)) => {
                self.current = first;
                true
            }
            (None, None) => false,
        }
    }
}
