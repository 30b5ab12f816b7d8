//! `cargo xtask redrive --queue-url URL [--to-queue-url URL]`: see the crate docs. Credentials
//! and region come from the usual AWS settings (profile, environment).

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Hand back what waits in a dead-letter or OnFailure queue")]
struct Args {
    /// The queue to empty (an OnFailure queue, or send-email's dead-letter queue).
    #[arg(long)]
    queue_url: String,
    /// Where dead-lettered messages go back to (send-email's work queue, output
    /// SendEmailQueueUrl).
    #[arg(long)]
    to_queue_url: Option<String>,
    /// At most this many messages.
    #[arg(long, default_value_t = 1_000)]
    max: usize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    match redrive::redrive(
        &sqs,
        &lambda,
        &args.queue_url,
        args.to_queue_url.as_deref(),
        args.max,
    )
    .await
    {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("redrive: {e}");
            ExitCode::FAILURE
        }
    }
}
