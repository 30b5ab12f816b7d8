//! The `local` binary as a person runs it, in a clone of its own (a temporary folder with the
//! template): it works in the folder it is started in, refuses a second start without touching
//! the running system's files, stops cleanly on SIGTERM, and `send` then says nothing runs.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_local");

/// A folder that looks like a clone to `local`: `Cargo.toml` and `infra/template.yaml`.
fn clone_dir(what: &str) -> PathBuf {
    let dir = common::temp_dir(what);
    std::fs::create_dir_all(dir.join("infra")).unwrap();
    std::fs::copy(
        common::workspace().join("infra/template.yaml"),
        dir.join("infra/template.yaml"),
    )
    .unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").unwrap();
    dir
}

fn local(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        // The clone is found from the current directory, not from the environment.
        .env_remove("LOCAL_WORKSPACE")
        .env_remove("LOCAL_PORT_BASE")
        .stdin(Stdio::null());
    command
}

fn up(dir: &Path, port_base: u16) -> Child {
    local(dir, &["up", "--port-base", &port_base.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The state file once the system started as `pid` has written it.
fn state(dir: &Path, pid: u32) -> serde_json::Value {
    let path = dir.join(".local/state.json");
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && v["pid"] == pid
        {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no state file");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_start_changes_nothing_and_sigterm_stops_cleanly() {
    let dir = clone_dir("clone-a");
    let mut first = up(&dir, 0);
    let running = state(&dir, first.id());
    // What a person has in the running system: an email and the function log.
    let email = dir.join(".local/outbox/001-password_changed-x.html");
    std::fs::write(&email, "<p>kept</p>").unwrap();
    let log = dir.join(".local/functions.log");
    std::fs::write(&log, "{\"kept\":true}\n").unwrap();

    // Same clone, other ports: refused before anything is touched.
    let second = local(&dir, &["up", "--port-base", "0"]).output().unwrap();
    assert!(!second.status.success());
    let message = stderr(&second);
    assert!(message.contains("already running"), "{message}");
    assert!(message.contains("--port-base"), "{message}");
    assert_eq!(std::fs::read_to_string(&email).unwrap(), "<p>kept</p>");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "{\"kept\":true}\n");
    assert_eq!(state(&dir, first.id()), running);

    // Another clone on the running system's ports: the ports are checked first, so that
    // clone's outbox and log survive too.
    let other = clone_dir("clone-b");
    std::fs::create_dir_all(other.join(".local/outbox")).unwrap();
    let other_email = other.join(".local/outbox/001-account_blocked-y.html");
    std::fs::write(&other_email, "<p>mine</p>").unwrap();
    std::fs::write(other.join(".local/functions.log"), "mine\n").unwrap();
    let port = running["endpoints"]["eventbridge"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let busy = local(&other, &["up", "--port-base", &port])
        .output()
        .unwrap();
    assert!(!busy.status.success());
    let message = stderr(&busy);
    assert!(message.contains("--port-base"), "{message}");
    assert!(other_email.exists());
    assert_eq!(
        std::fs::read_to_string(other.join(".local/functions.log")).unwrap(),
        "mine\n"
    );
    assert!(!other.join(".local/state.json").exists());

    // SIGTERM stops it like Ctrl-C: state file removed, exit 0.
    let status = terminate(&mut first);
    assert!(status.success(), "{status:?}");
    assert!(!dir.join(".local/state.json").exists());

    // And `send` says so instead of a connection error.
    let sample = common::workspace().join("events/auth0/scp.json");
    let send = local(&dir, &["send", sample.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!send.status.success());
    let message = stderr(&send);
    assert!(message.contains("no running local system"), "{message}");
    assert!(message.contains("cargo xtask run"), "{message}");
}

#[test]
fn a_stale_state_file_is_not_a_running_system() {
    let dir = clone_dir("stale");
    let mut first = up(&dir, 0);
    let running = state(&dir, first.id());
    // Killed without a chance to clean up: the state file stays behind.
    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::create_dir_all(dir.join(".local")).unwrap();
    std::fs::write(
        dir.join(".local/state.json"),
        serde_json::to_string(&running).unwrap(),
    )
    .unwrap();

    let sample = common::workspace().join("events/auth0/scp.json");
    let send = local(&dir, &["send", sample.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!send.status.success());
    assert!(stderr(&send).contains("no running local system"));

    // A new start is not refused by the stale file.
    let mut again = up(&dir, 0);
    state(&dir, again.id());
    assert!(terminate(&mut again).success());
}

#[test]
fn the_binary_works_in_the_clone_it_is_started_in() {
    let dir = clone_dir("elsewhere");
    let this_clone = common::workspace().join(".local/state.json");
    let before = std::fs::read_to_string(&this_clone).ok();
    let mut child = up(&dir, 0);
    state(&dir, child.id());
    assert!(dir.join(".local/outbox").is_dir());
    // The clone the binary was built in is untouched.
    assert_eq!(std::fs::read_to_string(&this_clone).ok(), before);
    assert!(terminate(&mut child).success());

    // Outside any clone: a clear error, nothing written.
    let nowhere = common::temp_dir("nowhere");
    let out = local(&nowhere, &["up", "--port-base", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("LOCAL_WORKSPACE"), "{}", stderr(&out));
    assert!(!nowhere.join(".local").exists());
}
