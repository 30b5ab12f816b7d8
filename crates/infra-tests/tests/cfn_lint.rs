//! cfn-lint (PyPI, pinned in `crates/xtask/requirements.txt`, installed by `cargo xtask test`)
//! validates the SAM template offline, SAM transform included.

use infra_tests::{template_path, workspace_root};
use std::process::Command;

#[test]
fn cfn_lint_passes() {
    // The interpreter `cargo xtask test` installed the requirements into (same variable as the
    // moto launcher). cfn-lint 1.x has no `__main__`, so `python3 -m cfnlint` cannot run it:
    // call its console-script entry point instead.
    let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = Command::new(&python)
        .args([
            "-c",
            "import sys; from cfnlint.runner import main; sys.exit(main())",
        ])
        .arg(template_path())
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named"),
        "cfn-lint is not installed: run `cargo xtask test` (installs crates/xtask/requirements.txt)\n{stderr}"
    );
    // cfn-lint's exit code is a bit mask (2 errors, 4 warnings, 8 informational): any bit fails.
    assert!(
        output.status.success(),
        "cfn-lint found problems ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.trim().is_empty(),
        "cfn-lint printed findings:\n{stdout}"
    );
}
