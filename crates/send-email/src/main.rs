use lambda_support::{Env, LazyAws};
use send_email::{Config, Handler, dedupe::Dedupe};

// One thread: a small Lambda has at most one vCPU and handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    let env = Env::from_process();
    let aws = LazyAws::default();
    let config = Config::from_env(&env, async || aws.secrets_manager().await)
        .await
        .inspect_err(
            |e| tracing::error!(error = %e, "send-email cannot start: configuration error"),
        )?;
    let dedupe = config
        .dedupe_table
        .clone()
        .map(|table| (table, config.dedupe_keep, config.block_window));
    let mut handler = Handler::new(config)
        .inspect_err(|e| tracing::error!(error = %e, "send-email cannot start"))?;
    if let Some((table, keep, window)) = dedupe {
        let client = aws_sdk_dynamodb::Client::new(&aws.config().await);
        handler = handler.with_dedupe(Dedupe::new(client, table, keep).with_block_window(window));
    }
    let handler = &handler;
    lambda_support::event::run(move |event| async move { handler.handle(event).await }).await
}
