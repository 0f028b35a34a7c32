//! Where burn's GPU backends keep their autotune results, set once per process before any GPU
//! work. Left to itself cubecl looks for a `Cargo.toml` above the working directory and tunes
//! into its `target/` (the source checkout, when a user runs from one), else into
//! `~/.cache/cubecl`; it also reads a `cubecl.toml` or `burn.toml` found above the working
//! directory and panics on a malformed one. Here the cache is the workspace's
//! `RUNS_DIR/tune-cache/`, so every trial of a sweep (each its own process, on every node of a
//! cluster that shares the workspace) reuses what the first one measured; cubecl appends to it
//! under a file lock, so trials running at once can share it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Whether burn's GPU kernels are autotuned in this build: with `cuda` (burn-cubecl is one
/// crate, so a `cuda,wgpu` build autotunes wgpu too); a `wgpu`-only build runs burn's default
/// kernels, as autotune's picks give wrong results on llvmpipe (README, "GPU").
pub const AUTOTUNE_BUILT: bool = cfg!(feature = "cuda");

/// Overrides the cache folder (an absolute path is best: trials and Slurm tasks inherit it).
pub const TUNE_CACHE_ENV: &str = "DENSENET_LAB_TUNE_CACHE";

/// The cache folder under a runs folder.
pub const TUNE_CACHE_DIR: &str = "tune-cache";

static CHOSEN: OnceLock<PathBuf> = OnceLock::new();

/// The autotune cache the GPU work of a command whose runs folder is `runs_dir` uses:
/// `$DENSENET_LAB_TUNE_CACHE`, else `RUNS_DIR/tune-cache`, made absolute against the working
/// directory (so that it names the same folder in every process of a sweep).
pub fn tune_cache_for(runs_dir: &Path) -> PathBuf {
    let chosen = match std::env::var_os(TUNE_CACHE_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => runs_dir.join(TUNE_CACHE_DIR),
    };
    std::path::absolute(&chosen).unwrap_or(chosen)
}

/// Names the cache for this process's GPU work (a command calls it with its runs folder before
/// it trains); the first call wins, as cubecl's configuration can be set only once.
pub fn use_tune_cache(runs_dir: &Path) -> &'static Path {
    CHOSEN.get_or_init(|| tune_cache_for(runs_dir))
}

/// Sets cubecl's configuration, once: the tune cache ([`use_tune_cache`], else `runs/`'s), and
/// `CUBECL_AUTOTUNE_LEVEL` and the other `CUBECL_*` variables cubecl itself honours. Called by
/// every path that opens a GPU runtime, before it opens it.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub(super) fn configure_gpu_runtime() {
    use cubecl::config::cache::CacheConfig;
    use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| {
        let dir = use_tune_cache(Path::new("runs"));
        let mut config = CubeClRuntimeConfig::default();
        config.autotune.cache = CacheConfig::File(dir.to_path_buf());
        let config = config.override_from_env();
        // cubecl panics if its configuration was read before (only burn reads it, and only
        // once a runtime opens, which comes after this); that would leave its own default.
        if std::panic::catch_unwind(|| CubeClRuntimeConfig::set(config)).is_err() {
            eprintln!(
                "warning: cubecl's configuration was read before densenet-lab set it; autotune results may go to cubecl's default cache"
            );
        }
    });
}
