//! The project's own commands behind `cargo xtask` (see `main.rs`). One dependency
//! (`serde_json`): the first `cargo xtask run` on a fresh clone compiles this crate in seconds,
//! with cargo's progress shown, and then shows cargo's progress for what the command needs. The benchmark, with its peers (wiremock, the
//! Runtime API emulator), is the `bench` crate, built only by `cargo xtask bench`.

pub mod run;
pub mod size;
pub mod test;

use std::path::{Path, PathBuf};

/// The clone `cargo xtask` was run in: cargo sets `CARGO_MANIFEST_DIR` for the process it
/// runs (crates/xtask or crates/bench of that clone); the compile-time value is only a fallback.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
