//! The chart font, compiled into the binary.
//!
//! plotters' default text path (`ttf` feature) asks fontconfig for a system font, which
//! headless training boxes and minimal containers often lack, so export would fail exactly
//! where sweeps run. We enable only `ab_glyph`, which reads fonts from bytes, and register
//! DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`) under the
//! generic family name every text style below uses.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use super::PlotError;

/// DejaVu Sans 2.37, unmodified.
static DEJAVU_SANS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));

/// The family name charts ask for. plotters' own defaults (legend, mesh) also use
/// "sans-serif", so registering under it covers text we do not style ourselves.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded font once per process; later calls return the first outcome.
pub(crate) fn ensure_registered() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}
