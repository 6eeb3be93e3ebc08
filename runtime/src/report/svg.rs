//! Inline SVG charts for reports: time-series lines with trade markers, and
//! signed horizontal bars. Coordinates are `f64` because they are pixels, not
//! money; the numbers shown in tables stay exact.

use std::fmt::Write;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One line of a chart: (epoch ms, value) points in time order.
pub struct Line<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub points: Vec<(u64, f64)>,
    /// Fill the area between the line and zero (drawdowns).
    pub area: bool,
}

/// A trade marker: time, price, buy (▲) or sell (▼).
pub struct Marker {
    pub ts_ms: u64,
    pub value: f64,
    pub buy: bool,
    pub title: String,
}

const W: f64 = 860.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

fn time_label(ms: u64, span_ms: u64) -> String {
    let day = crate::model::time::utc_day(i64::try_from(ms).unwrap_or(0));
    if span_ms > 3 * 86_400_000 {
        day
    } else {
        let s = (ms / 1_000) % 86_400;
        format!("{} {:02}:{:02}", &day[5..], s / 3_600, (s / 60) % 60)
    }
}

/// A time-series chart; `None` when there is nothing to draw.
pub fn time_chart(title: &str, lines: &[Line], markers: &[Marker], unit: &str) -> Option<String> {
    let xs = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .chain(markers.iter().map(|m| m.ts_ms));
    let (x0, x1) = xs.fold((u64::MAX, 0), |(a, b), x| (a.min(x), b.max(x)));
    if x0 > x1 {
        return None;
    }
    let ys = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(markers.iter().map(|m| m.value))
        .chain(lines.iter().filter(|l| l.area).map(|_| 0.0));
    let (mut y0, mut y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    if (y1 - y0).abs() < 1e-12 {
        y0 -= 1.0;
        y1 += 1.0;
    }
    let pad = (y1 - y0) * 0.05;
    let (y0, y1) = (y0 - pad, y1 + pad);
    let span = (x1 - x0).max(1);
    let px = |x: u64| LEFT + (x - x0) as f64 / span as f64 * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (y1 - y) / (y1 - y0) * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    for i in 0..=4 {
        let y = y0 + (y1 - y0) * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#e3e6ea"/><text x="{}" y="{:.1}" class="ax" text-anchor="end">{y:.3}{unit}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            py(y) + 4.0,
            py = py(y),
        );
    }
    for i in 0..=4u64 {
        let x = x0 + span * i / 4;
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" class="ax" text-anchor="{anchor}">{}</text>"#,
            px(x),
            H - 8.0,
            esc(&time_label(x, span))
        );
    }
    for l in lines.iter().filter(|l| !l.points.is_empty()) {
        let mut d = String::new();
        for (i, (x, y)) in l.points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                px(*x),
                py(*y)
            );
        }
        if l.area {
            let (first, last) = (l.points[0].0, l.points[l.points.len() - 1].0);
            let _ = write!(
                d,
                " L{:.1},{:.1} L{:.1},{:.1} Z",
                px(last),
                py(0.0),
                px(first),
                py(0.0)
            );
            let _ = write!(
                s,
                r#"<path d="{d}" fill="{}" fill-opacity="0.25" stroke="{}" stroke-width="1"><title>{}</title></path>"#,
                l.color,
                l.color,
                esc(l.name)
            );
        } else {
            let _ = write!(
                s,
                r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1.6"><title>{}</title></path>"#,
                l.color,
                esc(l.name)
            );
        }
    }
    for m in markers {
        let (x, y) = (px(m.ts_ms), py(m.value));
        let (points, color) = if m.buy {
            (
                format!(
                    "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    x,
                    y - 5.0,
                    x - 4.5,
                    y + 3.5,
                    x + 4.5,
                    y + 3.5
                ),
                "#1a7f37",
            )
        } else {
            (
                format!(
                    "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    x,
                    y + 5.0,
                    x - 4.5,
                    y - 3.5,
                    x + 4.5,
                    y - 3.5
                ),
                "#cf222e",
            )
        };
        let _ = write!(
            s,
            r#"<polygon class="fill" points="{points}" fill="{color}"><title>{}</title></polygon>"#,
            esc(&m.title)
        );
    }
    s.push_str("</svg><div class=\"legend\">");
    for l in lines {
        let _ = write!(
            s,
            r#"<span><i style="background:{}"></i>{}</span>"#,
            l.color,
            esc(l.name)
        );
    }
    if !markers.is_empty() {
        s.push_str(r##"<span><b style="color:#1a7f37">▲</b> buy fill</span><span><b style="color:#cf222e">▼</b> sell fill</span>"##);
    }
    s.push_str("</div></figure>");
    Some(s)
}

/// Horizontal bars, green above zero and red below; `None` when empty.
pub fn bar_chart(title: &str, bars: &[(String, f64)], unit: &str) -> Option<String> {
    if bars.is_empty() {
        return None;
    }
    let row = 22.0;
    let label_w = 300.0;
    let h = TOP * 2.0 + row * bars.len() as f64;
    let max = bars
        .iter()
        .map(|b| b.1.abs())
        .fold(0.0, f64::max)
        .max(1e-12);
    let half = (W - label_w - RIGHT - 70.0) / 2.0;
    let zero = label_w + half;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    let _ = write!(
        s,
        r##"<line x1="{zero}" x2="{zero}" y1="{TOP}" y2="{}" stroke="#8c959f"/>"##,
        h - TOP
    );
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = TOP + row * i as f64;
        let w = v.abs() / max * half;
        let x = if *v >= 0.0 { zero } else { zero - w };
        let color = if *v >= 0.0 { "#1a7f37" } else { "#cf222e" };
        let short: String = name.chars().take(44).collect();
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" class="ax" text-anchor="end">{}</text><rect class="bar" x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{color}"><title>{}: {v:.4}{unit}</title></rect><text x="{:.1}" y="{:.1}" class="ax">{v:.4}{unit}</text>"#,
            label_w - 8.0,
            y + 15.0,
            esc(&short),
            y + 4.0,
            row - 8.0,
            esc(name),
            zero + half + 6.0,
            y + 15.0,
        );
    }
    s.push_str("</svg></figure>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn charts_draw_every_series_and_marker() {
        let line = Line {
            name: "equity <$>",
            color: "#0969da",
            points: vec![(0, 1.0), (60_000, 2.0), (120_000, 1.5)],
            area: false,
        };
        let marker = Marker {
            ts_ms: 60_000,
            value: 2.0,
            buy: true,
            title: "buy 5 @ 0.52".into(),
        };
        let svg = time_chart("Equity", &[line], &[marker], " $").unwrap();
        assert_eq!(svg.matches("<path").count(), 1);
        assert_eq!(svg.matches("class=\"fill\"").count(), 1);
        assert!(svg.contains("equity &lt;$&gt;"));
        assert!(time_chart("empty", &[], &[], "").is_none());
        let bars = bar_chart("PnL", &[("a".into(), 2.0), ("b".into(), -1.0)], " $").unwrap();
        assert_eq!(bars.matches("class=\"bar\"").count(), 2);
        assert!(bars.contains("#cf222e"));
    }
}
