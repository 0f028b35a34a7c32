//! The metrics a chart can show, named as on the command line.

use std::fmt;
use std::str::FromStr;

use crate::store::{MetricName, Scope, Split};

use super::PlotError;

/// One plottable metric: which stored rows it reads and how its axes are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    TrainLoss,
    TrainAccuracy,
    TestLoss,
    TestAccuracy,
    ValLoss,
    ValAccuracy,
    /// Step-scope training loss (every `log_every` steps), x = optimizer step.
    TrainLossByStep,
    Lr,
    ImagesPerSec,
}

impl MetricKind {
    pub const ALL: &'static [MetricKind] = &[
        MetricKind::TrainLoss,
        MetricKind::TrainAccuracy,
        MetricKind::TestLoss,
        MetricKind::TestAccuracy,
        MetricKind::ValLoss,
        MetricKind::ValAccuracy,
        MetricKind::TrainLossByStep,
        MetricKind::Lr,
        MetricKind::ImagesPerSec,
    ];

    /// The command-line name, e.g. `test_accuracy`.
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::TrainLoss => "train_loss",
            MetricKind::TrainAccuracy => "train_accuracy",
            MetricKind::TestLoss => "test_loss",
            MetricKind::TestAccuracy => "test_accuracy",
            MetricKind::ValLoss => "val_loss",
            MetricKind::ValAccuracy => "val_accuracy",
            MetricKind::TrainLossByStep => "train_loss_steps",
            MetricKind::Lr => "lr",
            MetricKind::ImagesPerSec => "images_per_sec",
        }
    }

    /// Words for titles and axes, e.g. `test accuracy`.
    pub fn describe(self) -> &'static str {
        match self {
            MetricKind::TrainLoss => "train loss",
            MetricKind::TrainAccuracy => "train accuracy",
            MetricKind::TestLoss => "test loss",
            MetricKind::TestAccuracy => "test accuracy",
            MetricKind::ValLoss => "validation loss",
            MetricKind::ValAccuracy => "validation accuracy",
            MetricKind::TrainLossByStep => "train loss per step",
            MetricKind::Lr => "learning rate",
            MetricKind::ImagesPerSec => "training throughput",
        }
    }

    /// The stored rows this metric reads: (scope, split, name).
    pub fn source(self) -> (Scope, Split, MetricName) {
        use MetricName::*;
        match self {
            MetricKind::TrainLoss => (Scope::Epoch, Split::Train, Loss),
            MetricKind::TrainAccuracy => (Scope::Epoch, Split::Train, Accuracy),
            MetricKind::TestLoss => (Scope::Epoch, Split::Test, Loss),
            MetricKind::TestAccuracy => (Scope::Epoch, Split::Test, Accuracy),
            MetricKind::ValLoss => (Scope::Epoch, Split::Val, Loss),
            MetricKind::ValAccuracy => (Scope::Epoch, Split::Val, Accuracy),
            MetricKind::TrainLossByStep => (Scope::Step, Split::Train, Loss),
            MetricKind::Lr => (Scope::Epoch, Split::Train, Lr),
            MetricKind::ImagesPerSec => (Scope::Epoch, Split::Train, ImagesPerSec),
        }
    }

    /// Whether x is the optimizer step rather than the epoch.
    pub fn by_step(self) -> bool {
        self.source().0 == Scope::Step
    }

    /// Accuracies are stored as fractions and shown in percent.
    pub fn is_percent(self) -> bool {
        self.source().2 == MetricName::Accuracy
    }

    /// Losses span orders of magnitude over training, so they read best on a log axis.
    pub fn log_y(self) -> bool {
        self.source().2 == MetricName::Loss
    }

    pub fn x_label(self) -> &'static str {
        if self.by_step() { "step" } else { "epoch" }
    }

    /// The y axis title, with the unit: `test accuracy (%)`, `images / s`.
    pub fn y_label(self) -> String {
        match self {
            MetricKind::ImagesPerSec => "images / second".into(),
            MetricKind::TrainLossByStep => "train loss".into(),
            _ if self.is_percent() => format!("{} (%)", self.describe()),
            _ => self.describe().into(),
        }
    }

    /// `train_loss, train_accuracy, …`, for error messages and help text.
    pub fn valid_names() -> String {
        MetricKind::ALL
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl FromStr for MetricKind {
    type Err = PlotError;

    /// Accepts the names of [`MetricKind::name`], case-insensitively and with `-` for `_`.
    fn from_str(s: &str) -> Result<Self, PlotError> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        MetricKind::ALL
            .iter()
            .copied()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| PlotError::UnknownMetric {
                name: s.to_string(),
                valid: MetricKind::valid_names(),
            })
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
