//! The page's charts, as inline SVG: a load's outcomes as one stacked bar, the reject rate of
//! each load against the quality gate's threshold, and a heat map of codes (reject reasons,
//! repair flags) per load. Each mark carries a `<title>`, which browsers show on hover.

use std::fmt::Write;

use super::html::{compact, esc, percent, shorten, thousands};

/// The outcomes of a load, in the order the bar stacks them, with their colours.
pub const OUTCOMES: [(&str, &str); 6] = [
    ("loaded", "#3b7dd8"),
    ("updated", "#8b6fd6"),
    ("unchanged", "#aab4c0"),
    ("duplicate", "#e0a030"),
    ("superseded", "#5fb3b3"),
    ("rejected", "#d64545"),
];

/// A load's outcome counts (in the order of [`OUTCOMES`]) as one bar of the cell's width: each
/// outcome's share of the rows read. An outcome with rows gets at least a sliver.
pub fn outcome_bar(counts: [u64; 6], read: u64) -> String {
    const WIDTH: f64 = 1000.0;
    const SLIVER: f64 = 6.0;
    let mut widths: Vec<f64> = counts
        .iter()
        .map(|&n| {
            if n == 0 {
                0.0
            } else {
                (WIDTH * n as f64 / read.max(1) as f64).max(SLIVER)
            }
        })
        .collect();
    let excess: f64 = widths.iter().sum::<f64>() - WIDTH;
    if excess > 0.0
        && let Some(widest) = widths.iter_mut().max_by(|a, b| a.total_cmp(b))
    {
        *widest -= excess;
    }
    let mut svg = format!(
        "<svg class=\"bar\" viewBox=\"0 0 {WIDTH} 10\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-label=\"outcomes of {} rows\">",
        thousands(read)
    );
    let mut x = 0.0;
    for (i, ((name, colour), width)) in OUTCOMES.iter().zip(&widths).enumerate() {
        if *width <= 0.0 {
            continue;
        }
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"10\" fill=\"{colour}\">\
             <title>{name}: {} of {} rows ({})</title></rect>",
            thousands(counts[i]),
            thousands(read),
            percent(counts[i] as f64 / read.max(1) as f64)
        );
        x += width;
    }
    svg.push_str("</svg>");
    svg
}

/// One load's mark in the reject-rate chart.
pub struct RateMark {
    pub load_id: i64,
    pub rate: f64,
    pub rejected: u64,
    pub read: u64,
    /// What the gate made of it, for the colour and the tooltip.
    pub class: RateClass,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// At most the threshold.
    Within,
    /// Over the threshold, with a standing acceptance (or published over it).
    Accepted,
    /// Over the threshold and held back.
    Held,
    /// Rolled back: nothing was written.
    RolledBack,
}

impl RateClass {
    pub fn colour(self) -> &'static str {
        match self {
            RateClass::Within => "#3f9d6b",
            RateClass::Accepted => "#e0a030",
            RateClass::Held => "#d64545",
            RateClass::RolledBack => "#b8bec7",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RateClass::Within => "within the gate",
            RateClass::Accepted => "over the gate, accepted",
            RateClass::Held => "over the gate, held back",
            RateClass::RolledBack => "rolled back (nothing written)",
        }
    }
}

/// A value axis's upper bound and step: 4-6 steps of 1, 2 or 5 times a power of ten.
fn nice_scale(max: f64) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| max / step <= 5.0)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

/// The reject rate of each load as a bar, with the quality gate's threshold as a line.
pub fn reject_rate_chart(marks: &[RateMark], threshold: f64) -> String {
    const W: f64 = 960.0;
    const H: f64 = 250.0;
    const LEFT: f64 = 56.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 40.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let highest = marks.iter().map(|mark| mark.rate).fold(threshold, f64::max);
    let (top, step) = nice_scale(highest * 1.1);
    let y = |rate: f64| TOP + plot_h * (1.0 - rate / top);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-label=\"reject rate per load against the quality gate's threshold of {}\">",
        percent(threshold)
    );
    // Grid and value axis.
    let mut tick = 0.0;
    while tick <= top + step / 2.0 {
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y(tick) + 4.0,
            trim_percent(tick, step),
            y = y(tick),
        );
        tick += step;
    }
    let band = plot_w / marks.len().max(1) as f64;
    let bar = (band * 0.7).clamp(1.0, 36.0);
    let label_every = (34.0 / band).ceil().max(1.0) as usize;
    for (i, mark) in marks.iter().enumerate() {
        let centre = LEFT + band * (i as f64 + 0.5);
        let top_y = y(mark.rate);
        let height = (TOP + plot_h - top_y).max(if mark.rejected > 0 { 1.5 } else { 0.0 });
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\" \
             fill=\"{}\" rx=\"1.5\"><title>load {}: {} of {} rows rejected = {} ({})</title></rect>",
            centre - bar / 2.0,
            TOP + plot_h - height,
            mark.class.colour(),
            mark.load_id,
            thousands(mark.rejected),
            thousands(mark.read),
            percent(mark.rate),
            mark.class.label()
        );
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{centre:.1}\" y=\"{:.1}\" class=\"tick\" \
                 text-anchor=\"middle\">{}</text>",
                TOP + plot_h + 16.0,
                mark.load_id
            );
        }
    }
    let line_y = y(threshold);
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{line_y:.1}\" y2=\"{line_y:.1}\" class=\"threshold\"/>\
         <text x=\"{}\" y=\"{:.1}\" class=\"threshold-label\">quality gate {}</text>\
         <line x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"axis\"/>\
         <text x=\"{:.1}\" y=\"{}\" class=\"axis-title\" text-anchor=\"middle\">load</text></svg>",
        W - RIGHT,
        LEFT + 6.0,
        line_y - 5.0,
        percent(threshold),
        W - RIGHT,
        TOP + plot_h,
        TOP + plot_h,
        LEFT + plot_w / 2.0,
        H - 4.0,
    );
    svg
}

/// A tick's label: `0%`, `2.5%`, `10%` (no more decimals than the step needs).
fn trim_percent(value: f64, step: f64) -> String {
    let decimals = if step * 100.0 >= 1.0 {
        if (step * 100.0).fract() == 0.0 { 0 } else { 1 }
    } else {
        2
    };
    format!("{:.*}%", decimals, value * 100.0)
}

/// A heat map column: one load, its rows read and its count of each code.
pub struct HeatColumn<'a> {
    pub load_id: i64,
    pub read: u64,
    pub counts: Vec<(&'a str, u64)>,
}

/// Codes (rows) per load (columns): each cell's shade is the code's share of the load's rows
/// read, its text the number of rows. Codes come most frequent first. `hue` is the colour of
/// the darkest cell, as `r, g, b`.
pub fn heat_map(columns: &[HeatColumn<'_>], hue: (u8, u8, u8), what: &str) -> String {
    let mut codes: Vec<(&str, u64)> = Vec::new();
    for column in columns {
        for &(code, n) in &column.counts {
            match codes.iter_mut().find(|(known, _)| *known == code) {
                Some((_, total)) => *total += n,
                None => codes.push((code, n)),
            }
        }
    }
    codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let label_chars = codes
        .iter()
        .map(|(code, _)| code.chars().count().min(36))
        .max()
        .unwrap_or(8);
    let left = 16.0 + 7.0 * label_chars as f64;
    let total_w = 70.0;
    let cell_w = ((940.0 - left - total_w) / columns.len().max(1) as f64).clamp(16.0, 56.0);
    let cell_h = 24.0;
    let top = 26.0;
    let width = left + cell_w * columns.len() as f64 + total_w;
    let height = top + cell_h * codes.len() as f64 + 4.0;
    let highest = columns
        .iter()
        .flat_map(|column| {
            column
                .counts
                .iter()
                .map(|&(_, n)| n as f64 / column.read.max(1) as f64)
        })
        .fold(0.0, f64::max);
    let mut svg = format!(
        "<svg class=\"heat\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"{} per load\">",
        esc(what)
    );
    let label_every = (30.0 / cell_w).ceil().max(1.0) as usize;
    for (i, column) in columns.iter().enumerate() {
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                left + cell_w * (i as f64 + 0.5),
                top - 9.0,
                column.load_id
            );
        }
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">rows</text>",
        width - 4.0,
        top - 9.0
    );
    for (row, (code, total)) in codes.iter().enumerate() {
        let y = top + cell_h * row as f64;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"code\" text-anchor=\"end\">{}<title>{}</title></text>",
            left - 8.0,
            y + cell_h / 2.0 + 4.0,
            esc(&shorten(code, 36)),
            esc(code)
        );
        for (i, column) in columns.iter().enumerate() {
            let x = left + cell_w * i as f64;
            let n = column
                .counts
                .iter()
                .find(|(known, _)| known == code)
                .map_or(0, |&(_, n)| n);
            let share = n as f64 / column.read.max(1) as f64;
            let (fill, ink) = if n == 0 {
                ("#f1f3f6".to_string(), "#f1f3f6")
            } else {
                // Square root: small shares stay visible next to large ones.
                let t = 0.12 + 0.88 * (share / highest.max(f64::MIN_POSITIVE)).sqrt();
                let mix = |c: u8| (255.0 - (255.0 - f64::from(c)) * t).round() as u8;
                (
                    format!("rgb({},{},{})", mix(hue.0), mix(hue.1), mix(hue.2)),
                    if t > 0.55 { "#ffffff" } else { "#1f2933" },
                )
            };
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" \
                 fill=\"{fill}\"><title>load {}: {}: {} of {} rows ({})</title></rect>",
                x + 1.0,
                y + 1.0,
                cell_w - 2.0,
                cell_h - 2.0,
                column.load_id,
                esc(code),
                thousands(n),
                thousands(column.read),
                percent(share)
            );
            if n > 0 && cell_w >= 28.0 {
                let _ = write!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" class=\"cell\" fill=\"{ink}\" \
                     text-anchor=\"middle\">{}</text>",
                    x + cell_w / 2.0,
                    y + cell_h / 2.0 + 4.0,
                    compact(n)
                );
            }
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"total\" text-anchor=\"end\">{}</text>",
            width - 4.0,
            y + cell_h / 2.0 + 4.0,
            thousands(*total)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_end_on_round_numbers() {
        let close = |(top, step): (f64, f64), want: (f64, f64)| {
            assert!(
                (top - want.0).abs() < 1e-9 && (step - want.1).abs() < 1e-9,
                "{top} {step}"
            )
        };
        close(nice_scale(0.055), (0.06, 0.02));
        close(nice_scale(0.3), (0.3, 0.1));
        close(nice_scale(1.0), (1.0, 0.2));
        close(nice_scale(0.0), (1.0, 0.2));
        assert_eq!(trim_percent(0.05, 0.01), "5%");
        assert_eq!(trim_percent(0.025, 0.025), "2.5%");
        assert_eq!(trim_percent(0.002, 0.002), "0.20%");
    }

    #[test]
    fn a_bar_fills_its_width_and_shows_a_single_reject() {
        let svg = outcome_bar([999, 0, 0, 0, 0, 1], 1000);
        assert!(svg.contains("rejected: 1 of 1,000 rows (0.10%)"), "{svg}");
        assert!(!svg.contains("updated"), "{svg}");
        let widths: f64 = svg
            .split("width=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert!((widths - 1000.0).abs() < 0.5, "{widths}");
    }

    #[test]
    fn heat_map_escapes_its_codes() {
        let svg = heat_map(
            &[HeatColumn {
                load_id: 1,
                read: 10,
                counts: vec![("<img src=x>", 2)],
            }],
            (214, 69, 69),
            "reasons",
        );
        assert!(!svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;img src=x&gt;"), "{svg}");
    }
}
