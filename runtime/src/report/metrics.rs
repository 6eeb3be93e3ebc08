//! Performance metrics of a run from its equity curve and its realised trades.
//! Money stays `Decimal`; dimensionless ratios (Sharpe, Sortino, Calmar, win
//! rate) are `f64` because they are statistics, not amounts.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

const DAY_NS: i64 = 86_400_000_000_000;

/// One point of the equity curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EquityPoint {
    pub ts_ns: i64,
    pub equity: Decimal,
}

/// The deepest fall from a peak.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Drawdown {
    /// Dollars from the peak to the trough (positive).
    pub value: Decimal,
    /// As a fraction of the peak (0.25 = 25 %); `None` when the peak was ≤ 0.
    pub fraction: Option<Decimal>,
    pub peak_ts_ns: i64,
    pub trough_ts_ns: i64,
    /// When equity got back to the peak, if it did.
    pub recovered_ts_ns: Option<i64>,
    /// Peak to recovery (or to the end of the curve when not recovered).
    pub duration_ns: i64,
}

/// The metrics of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub start_equity: Decimal,
    pub end_equity: Decimal,
    pub total_pnl: Decimal,
    /// PnL over starting capital, when capital is given.
    pub total_return: Option<Decimal>,
    /// The return compounded to a year: (1 + return)^(365 / days) − 1
    /// (CAGR-equivalent; runs shorter than a day count as one day).
    pub annualized_return: Option<f64>,
    /// PnL per UTC day (equity at the day's last point minus the previous day's).
    pub daily_pnl: BTreeMap<String, Decimal>,
    pub best_day: Option<Decimal>,
    pub worst_day: Option<Decimal>,
    /// Annualised (√365) mean over standard deviation of daily PnL.
    pub sharpe: Option<f64>,
    /// As Sharpe, with the downside deviation (days below zero) in the denominator.
    pub sortino: Option<f64>,
    /// Annualised PnL over the maximum drawdown.
    pub calmar: Option<f64>,
    pub max_drawdown: Drawdown,
    pub trades: usize,
    pub wins: usize,
    pub losses: usize,
    pub win_rate: Option<f64>,
    pub average_win: Option<Decimal>,
    pub average_loss: Option<Decimal>,
    pub best_trade: Option<Decimal>,
    pub worst_trade: Option<Decimal>,
    /// Gross wins over gross losses.
    pub profit_factor: Option<Decimal>,
    /// Mean PnL per trade.
    pub expectancy: Option<Decimal>,
    pub max_consecutive_wins: usize,
    pub max_consecutive_losses: usize,
}

fn day_of(ts_ns: i64) -> String {
    crate::model::time::utc_day(ts_ns.div_euclid(1_000_000))
}

fn mean_std(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var.sqrt()))
}

/// The maximum drawdown of a curve (points in time order).
pub fn max_drawdown(curve: &[EquityPoint]) -> Drawdown {
    let mut best = Drawdown::default();
    let Some(first) = curve.first() else {
        return best;
    };
    let (mut peak, mut peak_ts) = (first.equity, first.ts_ns);
    let mut deepest_peak = peak;
    for p in curve {
        if p.equity >= peak {
            (peak, peak_ts) = (p.equity, p.ts_ns);
            continue;
        }
        let fall = peak - p.equity;
        if fall > best.value {
            deepest_peak = peak;
            best = Drawdown {
                value: fall,
                fraction: (peak > Decimal::ZERO).then(|| fall / peak),
                peak_ts_ns: peak_ts,
                trough_ts_ns: p.ts_ns,
                recovered_ts_ns: None,
                duration_ns: 0,
            };
        }
    }
    if best.value > Decimal::ZERO {
        best.recovered_ts_ns = curve
            .iter()
            .find(|p| p.ts_ns > best.trough_ts_ns && p.equity >= deepest_peak)
            .map(|p| p.ts_ns);
        let end = best
            .recovered_ts_ns
            .unwrap_or_else(|| curve.last().map_or(best.trough_ts_ns, |p| p.ts_ns));
        best.duration_ns = end - best.peak_ts_ns;
    }
    best
}

/// Computes every metric. `trades` are realised PnL amounts (one per closing
/// fill or settlement), in time order; `capital` is the starting capital for
/// returns, if known.
pub fn compute(curve: &[EquityPoint], trades: &[Decimal], capital: Option<Decimal>) -> Metrics {
    let mut m = Metrics::default();
    if let (Some(first), Some(last)) = (curve.first(), curve.last()) {
        m.start_equity = first.equity;
        m.end_equity = last.equity;
        m.total_pnl = last.equity - first.equity;
        let mut close: BTreeMap<String, Decimal> = BTreeMap::new();
        for p in curve {
            close.insert(day_of(p.ts_ns), p.equity);
        }
        let mut prev = first.equity;
        for (day, equity) in close {
            m.daily_pnl.insert(day, equity - prev);
            prev = equity;
        }
        m.best_day = m.daily_pnl.values().max().copied();
        m.worst_day = m.daily_pnl.values().min().copied();
        let days: Vec<f64> = m
            .daily_pnl
            .values()
            .map(|d| d.to_f64().unwrap_or(0.0))
            .collect();
        if let Some((mean, std)) = mean_std(&days) {
            let annual = 365f64.sqrt();
            m.sharpe = (std > 0.0).then(|| mean / std * annual);
            let downside = (days.iter().map(|d| d.min(0.0).powi(2)).sum::<f64>()
                / (days.len() as f64 - 1.0))
                .sqrt();
            m.sortino = (downside > 0.0).then(|| mean / downside * annual);
        }
        m.max_drawdown = max_drawdown(curve);
        let span_days = ((last.ts_ns - first.ts_ns) as f64 / DAY_NS as f64).max(1.0);
        let dd = m.max_drawdown.value.to_f64().unwrap_or(0.0);
        m.calmar = (dd > 0.0).then(|| m.total_pnl.to_f64().unwrap_or(0.0) * 365.0 / span_days / dd);
        m.total_return = capital
            .filter(|c| *c > Decimal::ZERO)
            .map(|c| m.total_pnl / c);
        m.annualized_return = m
            .total_return
            .and_then(|r| r.to_f64())
            .filter(|r| *r > -1.0)
            .map(|r| (1.0 + r).powf(365.0 / span_days) - 1.0);
    }
    let wins: Vec<Decimal> = trades
        .iter()
        .copied()
        .filter(|t| *t > Decimal::ZERO)
        .collect();
    let losses: Vec<Decimal> = trades
        .iter()
        .copied()
        .filter(|t| *t < Decimal::ZERO)
        .collect();
    m.trades = trades.len();
    m.wins = wins.len();
    m.losses = losses.len();
    if !trades.is_empty() {
        m.win_rate = Some(wins.len() as f64 / trades.len() as f64);
        m.expectancy = Some(trades.iter().sum::<Decimal>() / Decimal::from(trades.len()));
        m.best_trade = trades.iter().max().copied();
        m.worst_trade = trades.iter().min().copied();
    }
    let gross_win: Decimal = wins.iter().sum();
    let gross_loss: Decimal = -losses.iter().sum::<Decimal>();
    if !wins.is_empty() {
        m.average_win = Some(gross_win / Decimal::from(wins.len()));
    }
    if !losses.is_empty() {
        m.average_loss = Some(-gross_loss / Decimal::from(losses.len()));
        m.profit_factor = Some(gross_win / gross_loss);
    }
    let (mut w, mut l) = (0usize, 0usize);
    for t in trades {
        if *t > Decimal::ZERO {
            w += 1;
            l = 0;
        } else if *t < Decimal::ZERO {
            l += 1;
            w = 0;
        }
        m.max_consecutive_wins = m.max_consecutive_wins.max(w);
        m.max_consecutive_losses = m.max_consecutive_losses.max(l);
    }
    m
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    const D: i64 = DAY_NS;
    const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01

    fn curve(points: &[(i64, Decimal)]) -> Vec<EquityPoint> {
        points
            .iter()
            .map(|(ts_ns, equity)| EquityPoint {
                ts_ns: *ts_ns,
                equity: *equity,
            })
            .collect()
    }

    #[test]
    fn drawdown_by_hand() {
        // 100 → 120 (peak) → 90 (trough: −30, 25 %) → 125 (recovered) → 110.
        let c = curve(&[
            (T0, dec!(100)),
            (T0 + D, dec!(120)),
            (T0 + 2 * D, dec!(90)),
            (T0 + 3 * D, dec!(125)),
            (T0 + 4 * D, dec!(110)),
        ]);
        let dd = max_drawdown(&c);
        assert_eq!(dd.value, dec!(30));
        assert_eq!(dd.fraction, Some(dec!(0.25)));
        assert_eq!((dd.peak_ts_ns, dd.trough_ts_ns), (T0 + D, T0 + 2 * D));
        assert_eq!(dd.recovered_ts_ns, Some(T0 + 3 * D));
        assert_eq!(dd.duration_ns, 2 * D);
        // Never recovered: the duration runs to the end.
        let c = curve(&[(T0, dec!(10)), (T0 + D, dec!(8)), (T0 + 3 * D, dec!(9))]);
        let dd = max_drawdown(&c);
        assert_eq!(
            (dd.value, dd.recovered_ts_ns, dd.duration_ns),
            (dec!(2), None, 3 * D)
        );
        assert_eq!(max_drawdown(&[]), Drawdown::default());
    }

    #[test]
    fn daily_pnl_sharpe_and_sortino_by_hand() {
        // Day closes 100 → 110 → 105 → 120: daily PnL +10, −5, +15.
        let c = curve(&[
            (T0, dec!(100)),
            (T0 + D / 2, dec!(110)),
            (T0 + D + 1, dec!(105)),
            (T0 + 2 * D + 1, dec!(120)),
        ]);
        let m = compute(&c, &[], Some(dec!(1000)));
        let days: Vec<Decimal> = m.daily_pnl.values().copied().collect();
        assert_eq!(days, vec![dec!(10), dec!(-5), dec!(15)]);
        assert_eq!(m.total_pnl, dec!(20));
        assert_eq!(m.total_return, Some(dec!(0.02)));
        assert_eq!((m.best_day, m.worst_day), (Some(dec!(15)), Some(dec!(-5))));
        // mean 20/3; squared deviations (10/3)² + (35/3)² + (25/3)² = 1950/9, over
        // n − 1 = 2 → variance 325/3 → Sharpe = (20/3)/√(325/3) × √365.
        let sharpe = (20.0 / 3.0) / (325.0f64 / 3.0).sqrt() * 365f64.sqrt();
        assert!((m.sharpe.unwrap() - sharpe).abs() < 1e-9);
        // Downside deviation √(25/2).
        let sortino = (20.0 / 3.0) / (12.5f64).sqrt() * 365f64.sqrt();
        assert!((m.sortino.unwrap() - sortino).abs() < 1e-9);
        // Drawdown 5 over ~2 days: Calmar = 20 × 365 / 2 / 5.
        let span = (2 * D + 1) as f64 / D as f64;
        assert!((m.calmar.unwrap() - 20.0 * 365.0 / span / 5.0).abs() < 1e-6);
        assert!((m.annualized_return.unwrap() - (1.02f64.powf(365.0 / span) - 1.0)).abs() < 1e-9);
    }

    #[test]
    fn annualized_return_by_hand() {
        // +10 % over 36.5 days compounds ten times a year: 1.1¹⁰ − 1.
        let c = curve(&[(T0, dec!(1000)), (T0 + 73 * D / 2, dec!(1100))]);
        let m = compute(&c, &[], Some(dec!(1000)));
        assert!((m.annualized_return.unwrap() - 1.593_742_460_1).abs() < 1e-9);
        // A total loss has no compounded rate.
        let c = curve(&[(T0, dec!(1000)), (T0 + D, dec!(0))]);
        assert_eq!(compute(&c, &[], Some(dec!(1000))).annualized_return, None);
    }

    #[test]
    fn trade_statistics_by_hand() {
        let trades = [
            dec!(2),
            dec!(-1),
            dec!(3),
            dec!(4),
            dec!(-2),
            dec!(-2),
            dec!(0),
        ];
        let m = compute(&[], &trades, None);
        assert_eq!((m.trades, m.wins, m.losses), (7, 3, 3));
        assert_eq!(m.win_rate, Some(3.0 / 7.0));
        assert_eq!(m.average_win, Some(dec!(3)));
        assert_eq!(m.average_loss, Some(dec!(-5) / dec!(3)));
        assert_eq!(m.profit_factor, Some(dec!(9) / dec!(5)));
        assert_eq!(m.expectancy, Some(dec!(4) / dec!(7)));
        assert_eq!(
            (m.best_trade, m.worst_trade),
            (Some(dec!(4)), Some(dec!(-2)))
        );
        assert_eq!((m.max_consecutive_wins, m.max_consecutive_losses), (2, 2));
        // No losses: no profit factor, not infinity.
        assert_eq!(compute(&[], &[dec!(1)], None).profit_factor, None);
    }
}
