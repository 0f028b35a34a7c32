//! Drawing a [`Chart`] with plotters, into a PNG (our own encoder) or an SVG string.
//!
//! Both formats go through one generic drawing function, so they show the same chart. PNG
//! pixels are encoded with the `png` crate directly rather than plotters' `image`-based
//! encoder, which would pull in a second PNG stack plus JPEG/BMP codecs we never use.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::cartesian::Cartesian2d;
use plotters::prelude::*;

use super::PlotError;
use super::axis::Axis;
use super::chart::{Chart, ImageFormat, Plan};
use super::font::{self, FAMILY};
use super::style::series_style;

/// Smallest image that still fits title, axes and a plot area.
pub(crate) const MIN_SIZE: (u32, u32) = (200, 150);
/// Largest side: 8192² RGB is 200 MB of pixels, already far beyond any screen or page.
pub(crate) const MAX_SIDE: u32 = 8192;

const GRID: RGBColor = RGBColor(225, 225, 225);

/// Writes `chart` to `path` as PNG or SVG (by extension), `width` x `height` pixels.
/// The same chart and size always produce the same bytes.
pub fn write_chart(chart: &Chart, path: &Path, width: u32, height: u32) -> Result<(), PlotError> {
    let format = ImageFormat::from_path(path)?;
    if width < MIN_SIZE.0 || height < MIN_SIZE.1 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(PlotError::BadSize {
            path: path.to_owned(),
            width,
            height,
        });
    }
    let look = Look::new(width, height);
    let plan = Plan::new(chart, look.max_ticks(width, height))?;
    font::ensure_registered()?;
    let failed = |e: String| PlotError::Render {
        path: path.to_owned(),
        message: e,
    };
    let bytes = match format {
        ImageFormat::Png => {
            let rgb = draw_png(chart, &plan, &look, width, height).map_err(failed)?;
            encode_png(&rgb, width, height).map_err(|source| PlotError::Encode {
                path: path.to_owned(),
                source,
            })?
        }
        ImageFormat::Svg => draw_svg(chart, &plan, &look, width, height)
            .map_err(failed)?
            .into_bytes(),
    };
    std::fs::write(path, bytes).map_err(|source| PlotError::Write {
        path: path.to_owned(),
        source,
    })
}

fn draw_png(
    chart: &Chart,
    plan: &Plan,
    look: &Look,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, String> {
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw(&root, chart, plan, look).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(rgb)
}

fn draw_svg(
    chart: &Chart,
    plan: &Plan,
    look: &Look,
    width: u32,
    height: u32,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        draw(&root, chart, plan, look).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Balanced);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// Sizes that scale with the image, so a 1600x1000 export is not all tiny text.
struct Look {
    scale: f64,
}

impl Look {
    /// 800x500 is the reference size (scale 1).
    fn new(width: u32, height: u32) -> Look {
        let scale = (f64::from(width) / 800.0)
            .min(f64::from(height) / 500.0)
            .clamp(0.6, 4.0);
        Look { scale }
    }

    fn px(&self, v: f64) -> u32 {
        (v * self.scale).round().max(1.0) as u32
    }

    fn font(&self, size: f64) -> TextStyle<'static> {
        (FAMILY, size * self.scale).into_font().color(&BLACK)
    }

    /// Tick budgets: labels about every 90 px across and 45 px up.
    fn max_ticks(&self, width: u32, height: u32) -> (usize, usize) {
        let x = (f64::from(width) / (90.0 * self.scale)) as usize;
        let y = (f64::from(height) / (45.0 * self.scale)) as usize;
        (x.clamp(3, 12), y.clamp(3, 11))
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;
type Frame<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Title, axes and grid, then one line with markers per series, then the legend on top.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    plan: &Plan,
    look: &Look,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let tick_font = look.font(12.0);

    // The y label area holds the widest tick label plus the rotated axis title.
    let mut widest = 0;
    for &t in plan.y.ticks() {
        widest = widest.max(root.estimate_text_size(&plan.y.label(t), &tick_font)?.0);
    }
    let y_area = widest + look.px(15.0 * 1.2 + 22.0);

    let mut builder = ChartBuilder::on(root);
    builder
        .margin(look.px(14.0))
        .x_label_area_size(look.px(50.0))
        .y_label_area_size(y_area);
    if !chart.title.is_empty() {
        builder.caption(&chart.title, look.font(20.0));
    }
    let mut cc = builder.build_cartesian_2d(plan.x.clone(), plan.y.clone())?;

    let y_desc = if plan.y.is_log() {
        format!("{} (log scale)", chart.y_label)
    } else {
        chart.y_label.clone()
    };
    let x_fmt = |v: &f64| plan.x.label(*v);
    let y_fmt = |v: &f64| plan.y.label(*v);
    cc.configure_mesh()
        .x_labels(plan.x.ticks().len())
        .y_labels(plan.y.ticks().len())
        .max_light_lines(0)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(tick_font)
        .x_desc(chart.x_label.as_str())
        .y_desc(y_desc)
        .axis_desc_style(look.font(15.0))
        .bold_line_style(GRID.stroke_width(1))
        .axis_style(BLACK.stroke_width(1))
        .draw()?;

    for (i, (series, points)) in chart.series.iter().zip(&plan.series).enumerate() {
        draw_series(&mut cc, i, &series.label, points, look)?;
    }
    draw_legend(root, &mut cc, chart, plan, look)
}

/// The `i`-th series: a line in its colour, its marker on (some of) the points, and its
/// legend entry (a short line with the marker on it).
fn draw_series<'a, DB: DrawingBackend + 'a>(
    cc: &mut Frame<'a, DB>,
    i: usize,
    label: &str,
    points: &[(f64, f64)],
    look: &Look,
) -> DrawResult<DB> {
    let (colour, marker) = series_style(i);
    let line_width = look.px(2.0).max(2);
    let outline = marker.outline(4.5 * look.scale);
    let anno = if points.is_empty() {
        // Still listed in the legend (e.g. "run 4 … (no data)"), but draws nothing.
        cc.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
    } else {
        cc.draw_series(LineSeries::new(
            points.iter().copied(),
            colour.stroke_width(line_width),
        ))?
    };
    // A filled bar rather than a path, so the legend adds no SVG <polyline>.
    let half = look.px(11.0) as i32;
    let thick = (line_width as i32 / 2).max(1);
    let legend_outline = outline.clone();
    anno.label(legend_label(label)).legend(move |(x, y)| {
        EmptyElement::at((x + half, y))
            + Rectangle::new([(-half, -thick), (half, thick)], colour.filled())
            + Polygon::new(legend_outline.clone(), colour.filled())
    });
    cc.draw_series(
        marker_indices(points.len(), i)
            .map(|k| EmptyElement::at(points[k]) + Polygon::new(outline.clone(), colour.filled())),
    )?;
    Ok(())
}

/// The legend box, in the plot corner it hides least data in; its font shrinks (down to
/// 8 px) when many series would not fit the plot height.
fn draw_legend<'a, DB: DrawingBackend + 'a>(
    root: &DrawingArea<DB, Shift>,
    cc: &mut Frame<'a, DB>,
    chart: &Chart,
    plan: &Plan,
    look: &Look,
) -> DrawResult<DB> {
    let (plot_w, plot_h) = cc.plotting_area().dim_in_pixel();
    let rows = chart.series.len() as f64;
    let font_px = (13.0 * look.scale)
        .min(f64::from(plot_h) * 0.9 / (rows * 1.25))
        .max(8.0);
    let font: TextStyle = (FAMILY, font_px).into_font().color(&BLACK);
    let mut widest = 0;
    for s in &chart.series {
        widest = widest.max(root.estimate_text_size(&legend_label(&s.label), &font)?.0);
    }
    let margin = look.px(6.0);
    let swatch = look.px(30.0);
    // plotters lays legend rows out 1.25 font sizes apart, inside `margin` and 5 px inset.
    let size = (
        f64::from(widest + swatch + 2 * margin + 10) / f64::from(plot_w),
        (rows * font_px * 1.25 + f64::from(2 * margin + 10)) / f64::from(plot_h),
    );
    cc.configure_series_labels()
        .position(legend_corner(plan, size))
        .margin(margin)
        .legend_area_size(swatch)
        .label_font(font)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .draw()
}

/// Legend text, shortened so one long override list cannot push the box off the chart.
fn legend_label(label: &str) -> String {
    const MAX_CHARS: usize = 70;
    if label.chars().count() <= MAX_CHARS {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(MAX_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// Which points of a series get a marker: all of them up to 30 points (epoch curves),
/// otherwise about 20 evenly spaced ones, staggered per series so overlapping curves do
/// not hide each other's markers.
fn marker_indices(len: usize, series: usize) -> impl Iterator<Item = usize> {
    const ALL_UP_TO: usize = 30;
    const SPACED: usize = 20;
    let step = if len <= ALL_UP_TO { 1 } else { len / SPACED };
    let offset = if step > 1 {
        (series * step / 5) % step
    } else {
        0
    };
    (offset..len).step_by(step.max(1))
}

/// The plot corner where a legend of `size` (fractions of the plot area) covers the least
/// data: lines are sampled along each segment, not just at their points, since 5 epochs
/// can cross a corner with no point inside it. Ties keep the order of preference below.
fn legend_corner(plan: &Plan, size: (f64, f64)) -> SeriesLabelPosition {
    let (w, h) = (size.0.min(1.0), size.1.min(1.0));
    let corners = [
        (SeriesLabelPosition::UpperRight, (1.0 - w, 1.0 - h)),
        (SeriesLabelPosition::LowerRight, (1.0 - w, 0.0)),
        (SeriesLabelPosition::UpperLeft, (0.0, 1.0 - h)),
        (SeriesLabelPosition::LowerLeft, (0.0, 0.0)),
    ];
    let mut covered = [0usize; 4];
    let mut visit = |fx: f64, fy: f64| {
        for (n, (_, (x0, y0))) in corners.iter().enumerate() {
            if fx >= *x0 && fx <= x0 + w && fy >= *y0 && fy <= y0 + h {
                covered[n] += 1;
            }
        }
    };
    let frac = |axis: &Axis, v: f64| axis.fraction(v);
    for pts in &plan.series {
        for (k, &(x, y)) in pts.iter().enumerate() {
            let (fx, fy) = (frac(&plan.x, x), frac(&plan.y, y));
            visit(fx, fy);
            if let Some(&(nx, ny)) = pts.get(k + 1) {
                let (gx, gy) = (frac(&plan.x, nx), frac(&plan.y, ny));
                for s in 1..16 {
                    let t = f64::from(s) / 16.0;
                    visit(fx + (gx - fx) * t, fy + (gy - fy) * t);
                }
            }
        }
    }
    let best = (0..4).min_by_key(|&n| covered[n]).unwrap_or(0);
    corners
        .into_iter()
        .nth(best)
        .map_or(SeriesLabelPosition::UpperRight, |c| c.0)
}
