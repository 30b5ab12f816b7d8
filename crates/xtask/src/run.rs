//! `cargo xtask run [up options]` and `cargo xtask send FILE...`: the whole system on this
//! machine (crate `local`), loopback only, no AWS account. See `crates/local/README.md`.

use crate::test::workspace_root;
use std::process::Command;

/// Runs `cargo run -p local -- <command> <args>` in the workspace root. Cargo's compile
/// progress stays visible: a first run compiles for minutes.
pub fn local(command: &str, args: &[String]) -> Result<(), String> {
    // `cargo xtask run -- --port-base 0` and `cargo xtask run --port-base 0` mean the same.
    let args = args.iter().filter(|a| *a != "--");
    let status = Command::new("cargo")
        .args(["run", "--package", "local", "--", command])
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("local {command} failed ({status})"))
    }
}
