//! The SVG chart: each contender's median relative to tokio's, per workload,
//! one panel per worker count, on a log scale (1.0 is tokio; left is better;
//! for the wake rows, the p99); and, with more than one worker count, a
//! scaling panel: each contender's speed-up from the first worker count,
//! the geometric mean over the time workloads.

use std::path::Path;

use anyhow::anyhow;
use plotters::{coord::ranged1d::SegmentValue, prelude::*};

use crate::{
    contenders::{self, REFERENCE},
    results::Results,
    stats,
    workload::{Kind, Workload},
};

/// One colour per contender, in the order of [`contenders::names`].
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0xd6, 0x27, 0x28),
];

/// The colour of a user's queue (`--queue`).
const EXTRA_COLOUR: RGBColor = RGBColor(0x8c, 0x56, 0x4b);

/// Draws the chart of `results` into `path` (an SVG file).
pub fn draw(results: &Results, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let workloads = &results.workloads;
    // tokio is the reference line, not a bar.
    let contenders: Vec<&str> =
        results.contenders.iter().map(String::as_str).filter(|c| *c != REFERENCE).collect();
    let scaling = results.workers.len() > 1;
    let panels = results.workers.len().max(1) + usize::from(scaling);
    let group = contenders.len() + 1;
    let slots = (workloads.len() * group) as i32;

    let ratios: Vec<f64> = results.cells.iter().filter_map(|c| c.ratio).collect();
    // The axis spans the ratios, within [1/50, 50]; a bar beyond is cut at the edge.
    let lo = ratios.iter().copied().fold(0.5f64, f64::min).max(0.02) * 0.8;
    let hi = ratios.iter().copied().fold(2.0f64, f64::max).min(50.0) * 1.25;

    let height = (120 + slots * 9).max(300) as u32;
    let root = SVGBackend::new(path, (560 * panels as u32 + 200, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let areas = root.split_evenly((1, panels));
    if scaling {
        draw_scaling(results, &contenders, &areas[panels - 1])?;
    }
    for (index, (area, workers)) in areas.iter().zip(&results.workers).enumerate() {
        let caption =
            format!("{workers} worker{}: median / tokio's (log, lower is better)", plural(*workers));
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(if index == 0 { 170 } else { 10 })
            .build_cartesian_2d((lo..hi).log_scale(), (0..slots).into_segmented())
            .map_err(|e| anyhow!("{e}"))?;

        // Rows top to bottom in table order: slot 0 is at the bottom.
        let label_slot = |w: usize| (workloads.len() - 1 - w) * group + group / 2;
        let labels: Vec<(i32, &str)> =
            (0..workloads.len()).map(|w| (label_slot(w) as i32, workloads[w].name())).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .set_tick_mark_size(LabelAreaPosition::Left, 0)
            .y_labels(slots as usize + 1)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(s) if index == 0 => {
                    labels.iter().find(|(slot, _)| slot == s).map_or(String::new(), |(_, n)| n.to_string())
                }
                _ => String::new(),
            })
            .x_desc("ratio to tokio")
            .x_label_formatter(&|x| format!("{x}"))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;

        for (c, contender) in contenders.iter().enumerate() {
            let colour = contender_colour(contender);
            let bars = workloads.iter().enumerate().filter_map(|(w, workload)| {
                let ratio = results.cell(*workload, *workers, contender)?.ratio?.clamp(lo, hi);
                let slot = ((workloads.len() - 1 - w) * group + group - 1 - c - 1) as i32;
                Some(Rectangle::new(
                    [(lo, SegmentValue::Exact(slot)), (ratio, SegmentValue::Exact(slot + 1))],
                    colour.filled(),
                ))
            });
            let series = chart.draw_series(bars).map_err(|e| anyhow!("{e}"))?;
            if index == 0 {
                series
                    .label(contender.to_string())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
            }
        }
        let baseline = [(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Last)];
        let line = chart
            .draw_series(LineSeries::new(baseline, BLACK.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?;
        if index == 0 {
            line.label("tokio = 1")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], BLACK.stroke_width(2)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(|e| anyhow!("{e}"))?;
        }
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// The scaling panel; see the module docs.
fn draw_scaling<DB: DrawingBackend>(
    results: &Results,
    contenders: &[&str],
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> anyhow::Result<()> {
    let time: Vec<Workload> = results.workloads.iter().copied().filter(|w| w.kind() == Kind::Time).collect();
    let mut lines = Vec::new();
    for contender in std::iter::once(REFERENCE).chain(contenders.iter().copied()) {
        let points: Vec<(f64, f64)> = results
            .workers
            .iter()
            .filter_map(|&w| {
                let speedups: Vec<f64> =
                    time.iter().filter_map(|&t| results.speedup(t, w, contender)).collect();
                Some((w as f64, stats::geomean(&speedups)?))
            })
            .collect();
        if points.len() > 1 {
            lines.push((contender, points));
        }
    }
    let max_workers = results.workers.iter().copied().max().unwrap_or(1) as f64;
    let top = lines.iter().flat_map(|(_, p)| p.iter().map(|(_, s)| *s)).fold(max_workers, f64::max) * 1.1;
    let bottom = lines.iter().flat_map(|(_, p)| p.iter().map(|(_, s)| *s)).fold(0.5f64, f64::min) * 0.9;
    let first = results.workers.first().copied().unwrap_or(1);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("speed-up from {first} worker{} (geomean of time rows)", plural(first)),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(40)
        .build_cartesian_2d((0.8f64..max_workers * 1.25).log_scale(), (bottom..top).log_scale())
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc(format!("worker threads (on {} cores)", results.cores))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let ideal = [(first as f64, 1.0), (max_workers, max_workers / first as f64)];
    chart
        .draw_series(LineSeries::new(ideal, BLACK.mix(0.3).stroke_width(1)))
        .map_err(|e| anyhow!("{e}"))?
        .label("linear")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], BLACK.mix(0.3)));
    for (contender, points) in lines {
        let colour = if contender == REFERENCE { BLACK } else { contender_colour(contender) };
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?
            .label(contender.to_string())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// A contender's colour; a baseline's (`flume@abc1234`) is its backend's, paler.
fn contender_colour(contender: &str) -> RGBColor {
    if let Some((base, _)) = contender.split_once('@') {
        let RGBColor(r, g, b) = contender_colour(base);
        let pale = |c: u8| ((u16::from(c) + 2 * 255) / 3) as u8;
        return RGBColor(pale(r), pale(g), pale(b));
    }
    if contenders::extra_name() == Some(contender) {
        return EXTRA_COLOUR;
    }
    let index = contenders::names().iter().position(|c| *c == contender).unwrap_or(0);
    PALETTE[index % PALETTE.len()]
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
