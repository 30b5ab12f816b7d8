//! `cargo xtask run [up options]` and `cargo xtask send FILE...`: the whole system on this
//! machine (crate `local`), loopback only, no AWS account. See `crates/local/README.md`.

use crate::workspace_root;
use std::process::Command;

/// Runs `cargo run -p local -- <command> <args>` in the workspace root.
pub fn local(command: &str, args: &[String]) -> Result<(), String> {
    if command == "up" {
        // Said before cargo starts, so a first run is never minutes of silence.
        println!(
            "xtask: building the local system (crate `local`: the five functions and the \
             sandboxes), then starting it; a first build takes a few minutes, progress below"
        );
    }
    let args: Vec<String> = std::iter::once(command.to_owned())
        .chain(args.iter().cloned())
        .collect();
    cargo_run("local", &args)
}

/// `cargo run --package <package> -- <args>` in the workspace root, with cargo's own download
/// and compile progress visible.
pub fn cargo_run(package: &str, args: &[String]) -> Result<(), String> {
    // `cargo xtask run -- --port-base 0` and `cargo xtask run --port-base 0` mean the same.
    let args = args.iter().filter(|a| *a != "--");
    let status = Command::new("cargo")
        .args(["run", "--package", package, "--"])
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{package} failed ({status})"))
    }
}
