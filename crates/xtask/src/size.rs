//! Size budgets: each function's stripped release binary (the release profile strips) must stay
//! within its budget. `cargo xtask test` checks them after the tests (see [`check`]); the bench
//! prints them. Sizes depend on the toolchain, the lock file and the target only, so the check
//! is deterministic. The budgets are for x86_64-unknown-linux-gnu (CI and this machine);
//! arm64 builds, through cargo-lambda, come out about 10 % smaller and are in the bench.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The benchmark's floor: a bare `lambda_runtime` echo, never deployed.
pub const FLOOR: &str = "bench-floor";

/// The deployed functions (one crate and binary each).
pub const FUNCTIONS: [&str; 5] = [
    "email-transform",
    "send-email",
    "hybris-reset-password",
    "dixa-get-user",
    "dixa-patch-user",
];

/// Stripped x86_64 release binary budgets in bytes: the size measured when the budget was set
/// (2026-12-02, rustc 1.95, fat LTO) plus about 10 % for ordinary growth. Raise one only with a
/// reason in the commit. Before issue 13 the binaries were 12.7 to 13.4 MB; with thin LTO 5.6
/// to 6.2 MB.
const BUDGETS: [(&str, u64); 5] = [
    // email-transform and the Dixa functions grew by the DynamoDB client of the email history
    // (issue 19, 2026-12-04): email-transform 4.33 → 4.79 MB, dixa-get-user 4.33 → 4.83 MB,
    // dixa-patch-user 4.55 → 5.01 MB measured; budgets reset to those plus about 10 %.
    ("email-transform", 5_270_000),
    ("send-email", 5_020_000), // 4.56 MB measured
    // hybris-reset-password grew by the DynamoDB client of its reset window (issue 20,
    // 2026-12-04): 4.16 → 4.65 MB measured; budget reset to that plus about 10 %.
    ("hybris-reset-password", 5_110_000),
    ("dixa-get-user", 5_310_000),
    ("dixa-patch-user", 5_510_000),
];

pub fn budget(function: &str) -> Option<u64> {
    BUDGETS
        .iter()
        .find(|(name, _)| *name == function)
        .map(|(_, b)| *b)
}

/// Where cargo puts build output: honours `CARGO_TARGET_DIR` and `build.target-dir`.
pub fn target_dir(root: &Path) -> Result<PathBuf, String> {
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err("cargo metadata failed".into());
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata has no target_directory".into())
}

/// `cargo build --release` for these packages (a no-op when they are up to date).
pub fn build_release<'a>(
    root: &Path,
    packages: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let mut build = Command::new("cargo");
    build
        .args(["build", "--release", "--quiet"])
        .current_dir(root);
    for p in packages {
        build.args(["-p", p]);
    }
    if build.status().map_err(|e| e.to_string())?.success() {
        Ok(())
    } else {
        Err("release build failed".into())
    }
}

/// Builds the release binaries (reusing what is up to date) and fails naming every function
/// over its budget.
pub fn check(root: &Path) -> Result<(), String> {
    println!("xtask: size budgets (release build of the functions)");
    build_release(root, FUNCTIONS)?;
    let release = target_dir(root)?.join("release");
    let mut over = Vec::new();
    for f in FUNCTIONS {
        let file = release.join(f);
        let size = std::fs::metadata(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len();
        let budget = budget(f).ok_or_else(|| format!("{f} has no size budget"))?;
        println!("xtask:   {f}: {size} B (budget {budget} B)");
        if size > budget {
            over.push(format!("{f} is {size} B, over its budget of {budget} B"));
        }
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "size budget exceeded: {} (see crates/xtask/src/size.rs)",
            over.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function the template deploys (its `BuildProperties: Binary:`) needs a budget and
    /// a place here; the other binaries under crates/ (xtask, local, bench, load, redrive, ...)
    /// are tools and are never deployed.
    #[test]
    fn every_function_crate_has_a_budget() {
        let root = crate::workspace_root();
        let template = std::fs::read_to_string(root.join("infra/template.yaml")).unwrap();
        let deployed: Vec<&str> = template
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Binary: "))
            .map(str::trim)
            .collect();
        assert_eq!(deployed.len(), FUNCTIONS.len(), "{deployed:?}");
        let missing: Vec<&&str> = deployed
            .iter()
            .filter(|name| !FUNCTIONS.contains(name) || budget(name).is_none())
            .collect();
        assert!(missing.is_empty(), "no size budget for {missing:?}");
        for name in &deployed {
            assert!(
                root.join("crates").join(name).join("src/main.rs").exists(),
                "{name}: no crate of that name"
            );
        }
        assert_eq!(BUDGETS.len(), FUNCTIONS.len());
    }
}
