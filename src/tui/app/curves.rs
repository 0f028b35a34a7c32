//! State of the Curves view: which curve is plotted and how.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveKind {
    Loss,
    Accuracy,
    StepLoss,
}

impl CurveKind {
    pub const ALL: [CurveKind; 3] = [CurveKind::Loss, CurveKind::Accuracy, CurveKind::StepLoss];

    pub fn title(self) -> &'static str {
        match self {
            CurveKind::Loss => "loss / epoch",
            CurveKind::Accuracy => "accuracy / epoch",
            CurveKind::StepLoss => "train loss / step",
        }
    }

    /// Used in export file names.
    pub fn slug(self) -> &'static str {
        match self {
            CurveKind::Loss => "loss",
            CurveKind::Accuracy => "accuracy",
            CurveKind::StepLoss => "step-loss",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CurvesState {
    pub kind: CurveKind,
    pub smooth: bool,
    pub log_y: bool,
}
