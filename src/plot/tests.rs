//! Charts from a real temp store, exported and read back: PNGs decoded pixel by pixel,
//! SVGs checked as XML text.

use std::path::{Path, PathBuf};

use serde_json::json;
use tempfile::TempDir;

use super::style::PALETTE;
use super::*;
use crate::store::{MetricName, MetricRow, NewRun, Scope, Split};

const W: u32 = 800;
const H: u32 = 500;

fn new_run(i: usize, overrides: serde_json::Value, seed: u64) -> NewRun {
    NewRun {
        trial_index: i,
        hash: format!("h{i}"),
        config_json: "{}".into(),
        overrides_json: overrides.to_string(),
        seed,
        epochs_total: 5,
        params: 1000,
        flops: 2000,
    }
}

fn test_accuracy(run: usize, epoch: usize) -> f64 {
    0.5 + 0.08 * epoch as f64 + 0.03 * run as f64
}

fn train_loss(run: usize, epoch: usize) -> f64 {
    2.0 * 0.6f64.powi(epoch as i32) / (1.0 + 0.3 * run as f64)
}

/// Store with experiment "exp": 3 runs x 5 epochs of epoch metrics and 4 logged steps per
/// epoch, plus a 4th queued run without data; and experiment "other" with one run.
struct Fixture {
    _dir: TempDir,
    dir: PathBuf,
    store: Store,
    ids: Vec<i64>,
    queued: i64,
    other: i64,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("lab.db")).unwrap();
    let runs = [
        new_run(
            0,
            json!({"model.growth_rate": 12, "model.blocks": [4, 4], "model.dropout": 0.2}),
            1,
        ),
        new_run(
            1,
            json!({"model.growth_rate": 24, "model.blocks": [4, 4], "model.dropout": 0.2}),
            1,
        ),
        new_run(
            2,
            json!({"model.growth_rate": 12, "model.blocks": [6, 6], "model.dropout": 0.0}),
            1,
        ),
        new_run(
            3,
            json!({"model.growth_rate": 32, "model.blocks": [4, 4], "model.dropout": 0.2}),
            1,
        ),
    ];
    let ids: Vec<i64> = store
        .register_sweep("exp", "", "exp.toml", "", &runs)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    for (r, &id) in ids[..3].iter().enumerate() {
        for e in 1..=5 {
            let steps: Vec<MetricRow> = (0..4)
                .map(|s| {
                    let step = ((e - 1) * 4 + s + 1) as u64;
                    MetricRow::new(
                        e,
                        step,
                        Scope::Step,
                        Split::Train,
                        MetricName::Loss,
                        train_loss(r, e) + 0.01 * s as f64,
                    )
                })
                .collect();
            store.log_metrics(id, &steps).unwrap();
            let epoch_rows = [
                MetricRow::new(
                    e,
                    e as u64 * 4,
                    Scope::Epoch,
                    Split::Train,
                    MetricName::Loss,
                    train_loss(r, e),
                ),
                MetricRow::new(
                    e,
                    e as u64 * 4,
                    Scope::Epoch,
                    Split::Train,
                    MetricName::Accuracy,
                    test_accuracy(r, e) + 0.02,
                ),
                MetricRow::new(
                    e,
                    e as u64 * 4,
                    Scope::Epoch,
                    Split::Test,
                    MetricName::Loss,
                    train_loss(r, e) * 1.2,
                ),
                MetricRow::new(
                    e,
                    e as u64 * 4,
                    Scope::Epoch,
                    Split::Test,
                    MetricName::Accuracy,
                    test_accuracy(r, e),
                ),
                MetricRow::new(
                    e,
                    e as u64 * 4,
                    Scope::Epoch,
                    Split::Train,
                    MetricName::Lr,
                    0.1 / e as f64,
                ),
            ];
            store.finish_epoch(id, e, &epoch_rows, None).unwrap();
        }
    }
    let other = store
        .register_sweep("other", "", "other.toml", "", &[new_run(0, json!({}), 7)])
        .unwrap()[0]
        .id;
    Fixture {
        dir: dir.path().to_owned(),
        _dir: dir,
        store,
        ids: ids[..3].to_vec(),
        queued: ids[3],
        other,
    }
}

struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        (self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }

    fn count(
        &self,
        xs: std::ops::Range<u32>,
        ys: std::ops::Range<u32>,
        f: impl Fn((u8, u8, u8)) -> bool,
    ) -> usize {
        ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| f(self.pixel(x, y)))
            .count()
    }
}

fn decode_png(path: &Path) -> Image {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight)
    );
    buf.truncate(info.buffer_size());
    Image {
        width: info.width,
        height: info.height,
        rgb: buf,
    }
}

fn rgb(c: plotters::style::RGBColor) -> (u8, u8, u8) {
    (c.0, c.1, c.2)
}

const WHITE: (u8, u8, u8) = (255, 255, 255);

#[test]
fn metric_names_round_trip_and_unknown_names_list_the_valid_ones() {
    for &m in MetricKind::ALL {
        assert_eq!(m.name().parse::<MetricKind>().unwrap(), m);
        assert_eq!(m.to_string(), m.name());
    }
    assert_eq!(
        "Test-Accuracy".parse::<MetricKind>().unwrap(),
        MetricKind::TestAccuracy
    );
    assert_eq!(
        "train_loss_steps".parse::<MetricKind>().unwrap(),
        MetricKind::TrainLossByStep
    );
    let err = "test_acc".parse::<MetricKind>().unwrap_err();
    assert!(err.is_bad_input());
    let msg = err.to_string();
    assert!(msg.contains("\"test_acc\""), "{msg}");
    for m in MetricKind::ALL {
        assert!(msg.contains(m.name()), "{msg} lacks {}", m.name());
    }
}

#[test]
fn chart_for_builds_one_labelled_series_per_run() {
    let f = fixture();
    let chart = chart_for(&f.store, "exp", None, MetricKind::TestAccuracy).unwrap();
    assert_eq!(chart.title, "exp: test accuracy");
    assert_eq!(
        (chart.x_label.as_str(), chart.y_label.as_str()),
        ("epoch", "test accuracy (%)")
    );
    assert!(!chart.log_y);
    let labels: Vec<&str> = chart.series.iter().map(|s| s.label.as_str()).collect();
    let [a, b, c] = [f.ids[0], f.ids[1], f.ids[2]];
    assert_eq!(
        labels,
        [
            format!("run {a} k=12 blocks=[4,4] dropout=0.2"),
            format!("run {b} k=24 blocks=[4,4] dropout=0.2"),
            format!("run {c} k=12 blocks=[6,6] dropout=0.0"),
        ],
        "the queued run without data is left out"
    );
    for (r, s) in chart.series.iter().enumerate() {
        assert_eq!(s.points.len(), 5);
        for (e, &(x, y)) in s.points.iter().enumerate() {
            assert_eq!(x, (e + 1) as f64);
            assert!(
                (y - 100.0 * test_accuracy(r, e + 1)).abs() < 1e-9,
                "percent"
            );
        }
    }
    let loss = chart_for(&f.store, "exp", None, MetricKind::TrainLoss).unwrap();
    assert!(loss.log_y);
    assert!((loss.series[1].points[0].1 - train_loss(1, 1)).abs() < 1e-12);
}

#[test]
fn step_charts_use_steps_and_keep_the_last_value_of_a_repeated_step() {
    let mut f = fixture();
    // A resumed run logs step 20 again; the newer value wins.
    let again = MetricRow::new(5, 20, Scope::Step, Split::Train, MetricName::Loss, 0.001);
    f.store.log_metrics(f.ids[0], &[again]).unwrap();
    let chart = chart_for(
        &f.store,
        "exp",
        Some(&[f.ids[0]]),
        MetricKind::TrainLossByStep,
    )
    .unwrap();
    assert_eq!(chart.x_label, "step");
    let pts = &chart.series[0].points;
    assert_eq!(pts.len(), 20);
    assert!(pts.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(pts[19], (20.0, 0.001));
}

#[test]
fn listed_runs_keep_their_order_and_show_missing_data() {
    let f = fixture();
    let ids = [f.ids[2], f.queued, f.ids[0], f.ids[2]];
    let chart = chart_for(&f.store, "exp", Some(&ids), MetricKind::TestLoss).unwrap();
    let labels: Vec<&str> = chart.series.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels.len(), 3, "duplicates dropped: {labels:?}");
    assert!(labels[0].starts_with(&format!("run {} ", f.ids[2])));
    assert_eq!(
        labels[1],
        format!("run {} k=32 blocks=[4,4] dropout=0.2 (no data)", f.queued)
    );
    assert!(chart.series[1].points.is_empty());
    assert!(labels[2].starts_with(&format!("run {} ", f.ids[0])));
    // An empty list means "all runs".
    assert_eq!(
        chart_for(&f.store, "exp", Some(&[]), MetricKind::TestLoss)
            .unwrap()
            .series
            .len(),
        3
    );
}

#[test]
fn wrong_experiment_or_run_ids_are_reported_by_name() {
    let f = fixture();
    let err = chart_for(&f.store, "exp2", None, MetricKind::TestAccuracy).unwrap_err();
    assert!(err.is_bad_input());
    let msg = err.to_string();
    assert!(
        msg.contains("\"exp2\"") && msg.contains("exp, other"),
        "{msg}"
    );

    let err = chart_for(
        &f.store,
        "exp",
        Some(&[f.ids[0], f.other, 999]),
        MetricKind::TestAccuracy,
    )
    .unwrap_err();
    assert!(err.is_bad_input());
    let msg = err.to_string();
    assert!(msg.contains("\"exp\""), "{msg}");
    assert!(msg.contains(&format!("no runs {}, 999 ", f.other)), "{msg}");
    assert!(msg.contains(&format!("its runs: {}", f.ids[0])), "{msg}");
}

#[test]
fn nothing_logged_is_an_error_not_an_empty_image() {
    let f = fixture();
    let out = f.dir.join("empty.png");
    let err = export(
        &f.store,
        "other",
        None,
        MetricKind::TestAccuracy,
        &out,
        W,
        H,
    )
    .unwrap_err();
    assert!(matches!(err, PlotError::NoData { .. }) && err.is_bad_input());
    assert!(err.to_string().contains("\"other\""), "{err}");
    let err = chart_for(&f.store, "exp", None, MetricKind::ValAccuracy).unwrap_err();
    assert!(err.to_string().contains("val_accuracy"), "{err}");
    let err = chart_for(&f.store, "exp", Some(&[f.queued]), MetricKind::TestLoss).unwrap_err();
    assert!(
        err.to_string().contains(&format!("run {}", f.queued)),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn png_export_has_the_size_data_and_one_colour_per_run() {
    let f = fixture();
    let out = f.dir.join("acc.png");
    export(&f.store, "exp", None, MetricKind::TestAccuracy, &out, W, H).unwrap();
    let img = decode_png(&out);
    assert_eq!((img.width, img.height), (W, H));

    // Plot area interior (inside the label areas and margins): lines, markers, grid.
    let inner = (W * 15 / 100..W * 95 / 100, H * 15 / 100..H * 85 / 100);
    let ink = img.count(inner.0.clone(), inner.1.clone(), |p| p != WHITE);
    assert!(
        ink > 3000,
        "only {ink} non-background pixels in the plot area"
    );

    // Each series is drawn in exactly its palette colour (2 px lines, filled markers). A
    // legend swatch alone is well under 300 pixels, so 300 means a drawn curve.
    let found: Vec<usize> = PALETTE
        .iter()
        .map(|&c| img.count(0..W, 0..H, |p| p == rgb(c)))
        .collect();
    let drawn = found.iter().filter(|&&n| n >= 300).count();
    assert_eq!(drawn, 3, "palette pixel counts {found:?}");
    assert!(found[..3].iter().all(|&n| n >= 300), "{found:?}");
    assert!(found[3..].iter().all(|&n| n == 0), "{found:?}");
}

#[test]
fn the_embedded_font_draws_the_title() {
    // No font is installed for this (ab_glyph only reads registered bytes), so dark pixels
    // in the caption band prove the embedded font was loaded and rasterised.
    let f = fixture();
    let mut chart = chart_for(&f.store, "exp", None, MetricKind::TestAccuracy).unwrap();
    // The caption band's middle: above the plot area when there is a title, the top of
    // the plot area (grid, coloured lines, maybe the grey legend border) when there is none.
    let dark = |(r, g, b): (u8, u8, u8)| r < 100 && g < 100 && b < 100;
    let band = |chart: &Chart, name: &str| {
        let out = f.dir.join(name);
        write_chart(chart, &out, W, H).unwrap();
        let img = decode_png(&out);
        img.count(W / 4..W * 3 / 4, 0..35, dark)
    };
    let with_title = band(&chart, "titled.png");
    chart.title.clear();
    let without = band(&chart, "untitled.png");
    assert!(
        with_title > 150,
        "{with_title} dark pixels in the title band"
    );
    assert_eq!(without, 0);
    // Tick labels and axis titles are text too: the bottom band holds "epoch" and numbers.
    let img = decode_png(&f.dir.join("untitled.png"));
    let bottom = img.count(0..W, H - 45..H, dark);
    assert!(bottom > 40, "{bottom}");
}

/// Checks that `svg` is well-formed enough for a browser: tags balance, attribute quotes
/// close, and the single root element is `<svg>`. Returns the start tags in order and the
/// (trimmed, unescaped) text nodes.
fn parse_svg(svg: &str) -> (Vec<String>, Vec<String>) {
    let mut stack: Vec<String> = Vec::new();
    let mut tags = Vec::new();
    let mut texts = Vec::new();
    let mut rest = svg.trim_start();
    if rest.starts_with("<?xml") {
        rest = &rest[rest.find("?>").unwrap() + 2..];
    }
    let mut roots = 0;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(!text.contains('>'), "stray '>' in text {text:?}");
        assert!(
            !stack.is_empty() || text.trim().is_empty(),
            "text outside the root"
        );
        if !text.trim().is_empty() {
            assert!(!text.contains('<'), "raw '<' in text");
            let unescaped = text
                .trim()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&");
            texts.push(unescaped);
        }
        rest = &rest[open + 1..];
        let mut quote = None;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match (quote, c) {
                    (None, '"' | '\'') => quote = Some(c),
                    (Some(q), c) if c == q => quote = None,
                    (None, '>') => return true,
                    _ => {}
                }
                false
            })
            .map(|(i, _)| i)
            .expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
            continue;
        }
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap();
        if stack.is_empty() {
            roots += 1;
        }
        tags.push(tag.to_string());
        if !tag.ends_with('/') {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert!(rest.trim().is_empty(), "text after the root");
    assert_eq!(roots, 1);
    assert!(tags[0].starts_with("svg"), "root is {}", tags[0]);
    (tags, texts)
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[start..start + tag[start..].find('"')?])
}

fn svg_colour(c: plotters::style::RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

#[test]
fn svg_export_is_xml_with_one_polyline_per_series_and_the_legend_text() {
    let f = fixture();
    let out = f.dir.join("loss.SVG");
    export(&f.store, "exp", None, MetricKind::TrainLoss, &out, 900, 600).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    let (tags, texts) = parse_svg(&svg);
    assert_eq!(attr(&tags[0], "width"), Some("900"));
    assert_eq!(attr(&tags[0], "height"), Some("600"));

    // Axes and ticks are black polylines too; series lines are the palette-coloured ones.
    let colour_of = |t: &String, a: &str| attr(t, a).map(str::to_ascii_uppercase);
    let series_lines: Vec<&String> = tags
        .iter()
        .filter(|t| t.starts_with("polyline"))
        .filter(|t| {
            PALETTE
                .iter()
                .any(|&c| colour_of(t, "stroke") == Some(svg_colour(c)))
        })
        .collect();
    assert_eq!(series_lines.len(), 3, "one polyline per run");
    for (i, line) in series_lines.iter().enumerate() {
        let colour = svg_colour(PALETTE[i]);
        assert_eq!(colour_of(line, "stroke"), Some(colour.clone()));
        let points = attr(line, "points").unwrap().split_whitespace().count();
        assert_eq!(points, 5, "{line}");
        // Markers: one filled polygon per point plus one in the legend, in the same colour.
        let markers = tags
            .iter()
            .filter(|t| t.starts_with("polygon") && colour_of(t, "fill") == Some(colour.clone()))
            .count();
        assert_eq!(markers, 6, "series {i}");
    }
    let chart = chart_for(&f.store, "exp", None, MetricKind::TrainLoss).unwrap();
    for s in &chart.series {
        assert!(
            texts.contains(&s.label),
            "legend lacks {:?} in {texts:?}",
            s.label
        );
    }
    for t in ["exp: train loss", "epoch", "train loss (log scale)"] {
        assert!(texts.iter().any(|x| x == t), "{t:?} missing from {texts:?}");
    }
}

#[test]
fn svg_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let chart = Chart {
        title: "a <b> & \"c\"".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        series: vec![Series {
            label: "run 1 opt=<sgd>&co".into(),
            points: vec![(1.0, 1.0), (2.0, 3.0)],
        }],
        log_y: false,
    };
    let out = dir.path().join("esc.svg");
    write_chart(&chart, &out, W, H).unwrap();
    let (_, texts) = parse_svg(&std::fs::read_to_string(&out).unwrap());
    assert!(texts.contains(&chart.title), "{texts:?}");
    assert!(texts.contains(&chart.series[0].label), "{texts:?}");
}

#[test]
fn long_series_are_thinned_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let points: Vec<(f64, f64)> = (0..50_000)
        .map(|i| (i as f64, 1.0 + (i % 97) as f64))
        .collect();
    let chart = Chart {
        title: "long".into(),
        x_label: "step".into(),
        y_label: "loss".into(),
        series: vec![Series {
            label: "a".into(),
            points,
        }],
        log_y: true,
    };
    let out = dir.path().join("long.svg");
    write_chart(&chart, &out, W, H).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    let (tags, _) = parse_svg(&svg);
    let stroke = svg_colour(PALETTE[0]);
    let line = tags
        .iter()
        .find(|t| t.starts_with("polyline") && attr(t, "stroke") == Some(stroke.as_str()))
        .unwrap();
    let n = attr(line, "points").unwrap().split_whitespace().count();
    assert!((1000..=2000).contains(&n), "{n} points drawn");
}

#[test]
fn output_is_deterministic() {
    let f = fixture();
    for ext in ["png", "svg"] {
        let a = f.dir.join(format!("a.{ext}"));
        let b = f.dir.join(format!("b.{ext}"));
        export(&f.store, "exp", None, MetricKind::Lr, &a, 640, 400).unwrap();
        export(&f.store, "exp", None, MetricKind::Lr, &b, 640, 400).unwrap();
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ext}"
        );
    }
}

#[test]
fn bad_file_names_and_sizes_are_user_errors_naming_the_path() {
    let f = fixture();
    for name in ["chart.jpg", "chart"] {
        let out = f.dir.join(name);
        let err = export(&f.store, "exp", None, MetricKind::TestAccuracy, &out, W, H).unwrap_err();
        assert!(matches!(err, PlotError::UnknownFormat { .. }) && err.is_bad_input());
        assert!(
            err.to_string().contains(&out.display().to_string()),
            "{err}"
        );
        assert!(!out.exists());
    }
    let out = f.dir.join("tiny.png");
    let err = export(
        &f.store,
        "exp",
        None,
        MetricKind::TestAccuracy,
        &out,
        10,
        10,
    )
    .unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("tiny.png"),
        "{err}"
    );
    let out = f.dir.join("no/such/dir/chart.png");
    let err = export(&f.store, "exp", None, MetricKind::TestAccuracy, &out, W, H).unwrap_err();
    assert!(matches!(err, PlotError::Write { .. }) && !err.is_bad_input());
    assert!(err.to_string().contains("chart.png"), "{err}");
}
