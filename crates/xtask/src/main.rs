//! `cargo xtask <command>`: the project's own commands, so a fresh machine needs nothing but
//! the Rust toolchain, Python 3 with pip, and this repository.
//!
//! - `test`: installs the test tools (`requirements.txt`), starts one moto server for the whole
//!   run and runs every test in the workspace.
//! - `run`: the whole system locally (crate `local`: `up`); `send FILE...` sends events into it.
//! - `bench [N]`: cold start, warm CPU and latency, peak memory and size of each function next
//!   to a bare `lambda_runtime` echo (the floor), with ratios (crate `bench`).
//! - `load`: a credential-stuffing hour, compressed, through the local system with
//!   rate-limited sandboxes; prints what came out (crate `load`).
//! - `redrive --queue-url URL [--to-queue-url URL]`: hands back what waits in a dead-letter or
//!   OnFailure queue of a deployed stack (crate `redrive`).

use std::process::ExitCode;
use xtask::{run, test};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("run") => run::local("up", &args[1..]),
        Some("send") => run::local("send", &args[1..]),
        Some("bench") => run::cargo_run("bench", &args[1..]),
        Some("load") => run::cargo_run("load", &args[1..]),
        Some("redrive") => run::cargo_run("redrive", &args[1..]),
        _ => {
            eprintln!("usage: cargo xtask test [<test runner args>]");
            eprintln!("       cargo xtask run [--port-base N] [--logs]");
            eprintln!("       cargo xtask send events/auth0/<sample>.json ...");
            eprintln!("       cargo xtask bench [N]");
            eprintln!("       cargo xtask load [--blocks N --addresses N ...] (see --help)");
            eprintln!("       cargo xtask redrive --queue-url URL [--to-queue-url URL]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
