//! `cargo xtask test`: the README's test command and what `.ci/run` runs: installs the test
//! tools (Python: moto, cfn-lint; Debian: chromium, chromium-driver), starts one moto server,
//! runs every test, then checks the size budgets (`size.rs`) on the release binaries.

use crate::workspace_root;
use std::{
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

pub fn run(extra: &[String]) -> Result<(), String> {
    let root = workspace_root();
    install_python_tools(&root)?;
    install_chromium()?;
    let moto = Moto::start()?;
    println!("xtask: moto server at {}", moto.endpoint);

    let (program, mut args) = if has_nextest() {
        (
            "cargo",
            vec!["nextest", "run", "--workspace", "--no-fail-fast"],
        )
    } else {
        ("cargo", vec!["test", "--workspace", "--no-fail-fast"])
    };
    args.extend(extra.iter().map(String::as_str));
    println!("xtask: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(&args)
        .current_dir(&root)
        .env("MOTO_ENDPOINT", &moto.endpoint)
        // Tests never reach AWS: no IMDS probing, no real credentials picked up.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .status()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    drop(moto);
    if !status.success() {
        return Err(format!("tests failed ({status})"));
    }
    // After the tests pass; reuses the release builds when they are up to date.
    crate::size::check(&root)
}

fn python() -> String {
    std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// pip is a no-op when the pinned versions are already there.
pub fn install_python_tools(root: &Path) -> Result<(), String> {
    let requirements = root.join("crates/xtask/requirements.txt");
    println!(
        "xtask: installing test tools from {}",
        requirements.display()
    );
    let status = Command::new(python())
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements)
        .status()
        .map_err(|e| format!("python3 with pip is needed to install the test tools: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("pip install -r {} failed", requirements.display()))
    }
}

/// Debian's Chromium and its WebDriver, for the browser tests. A machine without them gets
/// them here; where they cannot be installed the run fails (a browser test is never skipped).
pub fn install_chromium() -> Result<(), String> {
    // The same variables the harness (test-support's `browser`) reads.
    let needed = [
        std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned()),
    ];
    if needed.iter().all(|p| Path::new(p).exists()) {
        return Ok(());
    }
    println!("xtask: installing Debian's chromium and chromium-driver (browser tests)");
    // As root (CI, the dev container) apt-get runs directly; otherwise through sudo.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut command = if is_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        let status = command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("could not run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("apt-get {} failed ({status})", args.join(" ")))
        }
    };
    apt(&["update", "-qq"])?;
    apt(&[
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "chromium",
        "chromium-driver",
    ])?;
    match needed.iter().find(|p| !Path::new(p).exists()) {
        Some(missing) => Err(format!("{missing} still missing after apt-get install")),
        None => Ok(()),
    }
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A moto server for the whole test run, stopped when dropped.
pub struct Moto {
    pub endpoint: String,
    child: Child,
}

impl Moto {
    pub fn start() -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free loopback port: {e}"))?
            .port();
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start moto server: {e}"))?;
        let mut moto = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(30)
                || moto.child.try_wait().ok().flatten().is_some()
            {
                return Err("moto server did not start within 30 s".to_owned());
            }
            sleep(Duration::from_millis(50));
        }
        Ok(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
