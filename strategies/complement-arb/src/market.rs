//! The binary markets the strategy trades: pairing complementary tokens from the
//! configuration, their trading rules and status, and their snapshot layout.

use std::collections::BTreeMap;

use pqap_strategy_sdk::state::{StateReader, StateWriter};
use pqap_strategy_sdk::types::InstrumentInfo;
use pqap_strategy_sdk::{Ctx, Price, Size};

use crate::attempt::{Attempt, Outcome};

/// What we know about one outcome token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub id: u32,
    pub tick: Price,
    pub min_size: Size,
    pub fee_rate: u32,
    pub tradeable: bool,
}

impl Token {
    fn from_info(info: &InstrumentInfo) -> Result<Token, String> {
        let tick = Price::new(info.tick)
            .filter(|t| t.micros() > 0)
            .ok_or_else(|| format!("instrument {} has an invalid tick {}", info.id, info.tick))?;
        Ok(Token {
            id: info.id,
            tick,
            min_size: Size::from_micros(info.min_size),
            fee_rate: info.taker_fee_rate,
            tradeable: true,
        })
    }
}

/// A binary market: its two complementary tokens and our attempt on it.
#[derive(Clone, Debug)]
pub(crate) struct Pair {
    pub market: u32,
    pub yes: Token,
    pub no: Token,
    pub resolved: bool,
    /// A quote or status change since we last looked for an opportunity.
    pub dirty: bool,
    pub attempt: Option<Attempt>,
}

impl Pair {
    pub fn tradeable(&self) -> bool {
        self.yes.tradeable && self.no.tradeable && !self.resolved
    }

    pub fn token(&self, outcome: Outcome) -> Token {
        match outcome {
            Outcome::Yes => self.yes,
            Outcome::No => self.no,
        }
    }

    pub fn token_mut(&mut self, instrument: u32) -> Option<&mut Token> {
        if self.yes.id == instrument {
            Some(&mut self.yes)
        } else if self.no.id == instrument {
            Some(&mut self.no)
        } else {
            None
        }
    }

    pub fn write(&self, w: &mut StateWriter) {
        w.u32(self.market)
            .u32(self.yes.tick.micros())
            .u32(self.no.tick.micros())
            .bool(self.yes.tradeable)
            .bool(self.no.tradeable)
            .bool(self.resolved)
            .bool(self.attempt.is_some());
        if let Some(attempt) = &self.attempt {
            attempt.write(w);
        }
    }

    /// Takes over what a snapshot said about this market.
    pub fn restore(&mut self, ctx: &mut Ctx, saved: SavedPair) {
        // The configuration may have changed under the snapshot; an attempt on
        // other tokens would book fills on the wrong legs.
        let legs_match = saved
            .attempt
            .as_ref()
            .is_none_or(|a| a.yes.instrument == self.yes.id && a.no.instrument == self.no.id);
        if !legs_match {
            let market = self.market;
            ctx.warn(&format!(
                "market {market} changed tokens; dropping its attempt"
            ));
        }
        let valid_tick =
            |t: u32, old: Price| Price::new(t).filter(|p| p.micros() > 0).unwrap_or(old);
        self.yes.tick = valid_tick(saved.ticks.0, self.yes.tick);
        self.no.tick = valid_tick(saved.ticks.1, self.no.tick);
        (self.yes.tradeable, self.no.tradeable) = saved.tradeable;
        self.resolved = saved.resolved;
        self.attempt = saved.attempt.filter(|_| legs_match);
        self.dirty = true;
    }
}

/// A market as a snapshot describes it, before it is matched to the configuration.
pub(crate) struct SavedPair {
    pub market: u32,
    ticks: (u32, u32),
    tradeable: (bool, bool),
    resolved: bool,
    pub attempt: Option<Attempt>,
}

impl SavedPair {
    pub fn read(r: &mut StateReader) -> Result<SavedPair, String> {
        Ok(SavedPair {
            market: r.u32()?,
            ticks: (r.u32()?, r.u32()?),
            tradeable: (r.bool()?, r.bool()?),
            resolved: r.bool()?,
            attempt: if r.bool()? {
                Some(Attempt::read(r)?)
            } else {
                None
            },
        })
    }
}

/// The complementary token pairs of the configuration, keyed by market id.
///
/// The first-listed token of a pair is its YES leg, as the venue lists outcomes.
/// Tokens without a complement that names them back are not ours to trade.
pub(crate) fn pairs_from(instruments: &[InstrumentInfo]) -> Result<BTreeMap<u32, Pair>, String> {
    let mut pairs = BTreeMap::new();
    for info in instruments {
        let Some(other) = info.complement.filter(|c| *c != info.id) else {
            continue;
        };
        let Some(other_info) = instruments.iter().find(|i| i.id == other) else {
            continue;
        };
        if other_info.complement != Some(info.id)
            || other_info.market != info.market
            || pairs.contains_key(&info.market)
        {
            continue;
        }
        let pair = Pair {
            market: info.market,
            yes: Token::from_info(info)?,
            no: Token::from_info(other_info)?,
            resolved: false,
            dirty: false,
            attempt: None,
        };
        pairs.insert(info.market, pair);
    }
    if pairs.is_empty() {
        return Err("no binary market with two complementary outcome tokens".to_string());
    }
    Ok(pairs)
}
