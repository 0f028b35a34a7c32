//! Run detail: identity, resolved config, size, device, timings and error of one run.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::tui::app::App;
use crate::tui::format;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = app.theme;
    let Some(r) = app.highlighted() else {
        frame.render_widget(
            Paragraph::new("No run highlighted: pick one in the Runs view (1).").style(t.dim()),
            area,
        );
        return;
    };
    let b = &r.brief;
    let full = app.detail.run.as_ref().filter(|f| f.id == b.id);
    let secs = r.series(
        crate::store::Split::Train,
        crate::store::MetricName::EpochSeconds,
    );
    let mean_epoch =
        (!secs.is_empty()).then(|| secs.iter().map(|p| p.1).sum::<f64>() / secs.len() as f64);
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<12}"), t.dim()),
            Span::raw(v),
        ])
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("run #{} ", b.id), t.title()),
            Span::raw(format!("{} trial {}  ", b.experiment, b.trial_index)),
            Span::styled(format::status_label(b.status), t.status(b.status)),
        ]),
        kv("overrides", r.overrides_text()),
        kv("seed", b.seed.to_string()),
        kv(
            "size",
            format!(
                "{} params · {} FLOPs/image",
                format::count(b.params),
                format::count(b.flops)
            ),
        ),
        kv("device", opt(&b.device)),
        kv(
            "ran as",
            app.detail
                .ran
                .as_ref()
                .filter(|_| full.is_some())
                .map_or("-".into(), ToString::to_string),
        ),
        kv(
            "epochs",
            format!(
                "{}/{}  mean {} per epoch  ETA {}",
                b.epochs_done,
                b.epochs_total,
                format::duration(mean_epoch),
                format::duration(r.derived.eta_secs)
            ),
        ),
        kv(
            "test acc %",
            format!(
                "best {}  last {}  · train loss {} · {} img/s",
                format::pct(r.derived.best_test),
                format::pct(r.derived.last_test),
                format::num(r.derived.last_train_loss),
                format::num(r.derived.images_per_sec)
            ),
        ),
        kv("created", full.map_or("-".into(), |f| f.created_at.clone())),
        kv("started", opt(&b.started_at)),
        kv("finished", opt(&b.finished_at)),
        kv("heartbeat", opt(&b.heartbeat_at)),
    ];
    if let Some(hash) = full.map(|f| f.hash.clone()) {
        lines.push(kv("hash", hash));
    }
    if let Some(e) = &b.error {
        lines.push(Line::from(Span::styled(format!("error: {e}"), t.error())));
    }
    lines.push(Line::from(Span::styled("config", t.title())));
    match full {
        Some(f) => {
            let pretty = serde_json::from_str::<serde_json::Value>(&f.config_json)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| f.config_json.clone());
            lines.extend(pretty.lines().map(|l| Line::from(l.to_string())));
        }
        None => lines.push(Line::from(Span::styled("loading…", t.dim()))),
    }
    let max_scroll = lines.len().saturating_sub(1);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.detail.scroll.min(max_scroll) as u16, 0))
            .block(Block::bordered().title(" run detail (j/k scroll) ")),
        area,
    );
}
