//! `cargo xtask run [up options]` and `cargo xtask send FILE...`: the whole system on this
//! machine (crate `local`), loopback only, no AWS account. See `crates/local/README.md`.

use crate::test::workspace_root;
use std::process::Command;

/// Runs `cargo run -p local -- <command> <args>` in the workspace root.
pub fn local(command: &str, args: &[String]) -> Result<(), String> {
    let status = Command::new("cargo")
        .args(["run", "--quiet", "--package", "local", "--", command])
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
