//! `cargo xtask load`: the credential-stuffing hour ([`load::Scenario::credential_stuffing_hour`])
//! through the local system, with a progress bar, then the figures. Exits 1 when a promise
//! did not hold (an email lost or sent twice, an event parked, a provider above its cap).

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use load::{Progress, Scenario};
use std::{process::ExitCode, time::Duration};

#[derive(Parser)]
#[command(about = "A credential-stuffing hour, compressed, through the local system")]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    blocks: usize,
    #[arg(long, default_value_t = 1_000)]
    addresses: usize,
    #[arg(long, default_value_t = 500)]
    fcpr: usize,
    #[arg(long, default_value_t = 50)]
    identifiers: usize,
    #[arg(long, default_value_t = 100)]
    scp: usize,
    #[arg(long, default_value_t = 50)]
    sce: usize,
    /// Events put per second.
    #[arg(long, default_value_t = 180.0)]
    put_rate: f64,
    #[arg(long, default_value_t = 10)]
    bloomreach_rps: u32,
    #[arg(long, default_value_t = 16)]
    auth0_rps: u32,
    /// Lambda's and SQS's waits (retry delays, visibility timeouts) times this.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn put(&self, done: usize, of: usize) {
        self.0.set_length(of as u64);
        self.0.set_position(done as u64);
        self.0.set_message("events put");
    }
    fn sent(&self, done: usize, of: usize) {
        self.0.set_length(of as u64);
        self.0.set_position(done as u64);
        self.0.set_message("emails sent");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let scenario = Scenario {
        blocks: args.blocks,
        blocked_addresses: args.addresses,
        fcpr: args.fcpr,
        fcpr_identifiers: args.identifiers,
        scp: args.scp,
        sce: args.sce,
        put_rate: Some(args.put_rate),
        bloomreach_rps: Some(args.bloomreach_rps),
        auth0_rps: Some(args.auth0_rps),
        time_scale: args.time_scale,
        ..Scenario::credential_stuffing_hour()
    };
    let root = match local::workspace_root() {
        Ok(root) => root,
        Err(e) => {
            eprintln!("load: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{} events ({} blocks over {} addresses, {} fcpr over {} customers, {} scp, {} sce) at {}/s; Bloomreach {}/s, Auth0 {}/s",
        scenario.events(),
        scenario.blocks,
        scenario.blocked_addresses,
        scenario.fcpr,
        scenario.fcpr_identifiers,
        scenario.scp,
        scenario.sce,
        args.put_rate,
        args.bloomreach_rps,
        args.auth0_rps
    );
    let bar = ProgressBar::new(scenario.events() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let result = load::run(&root, &scenario, &Bar(bar.clone())).await;
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            for line in report.lines(&scenario) {
                println!("{line}");
            }
            let problems = report.problems(&scenario);
            if problems.is_empty() {
                println!(
                    "all held: every email once, nothing parked, every provider within its cap"
                );
                ExitCode::SUCCESS
            } else {
                for p in problems {
                    eprintln!("NOT HELD: {p}");
                }
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("load: {e}");
            ExitCode::FAILURE
        }
    }
}
