use lambda_runtime::{LambdaEvent, service_fn};
use lambda_support::Env;
use send_email::{Config, Handler, dedupe::Dedupe};
use serde_json::Value;
use tokio::sync::OnceCell;

// One thread: a small Lambda has at most one vCPU and handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    let env = Env::from_process();
    // Loaded only if something needs AWS (a secret ARN, the dedupe table), and then once.
    let sdk = OnceCell::new();
    let sdk_config = async || sdk.get_or_init(lambda_support::aws_config).await.clone();
    let config = Config::from_env(&env, async || {
        aws_sdk_secretsmanager::Client::new(&sdk_config().await)
    })
    .await
    .inspect_err(|e| tracing::error!(error = %e, "send-email cannot start: configuration error"))?;
    let dedupe = config
        .dedupe_table
        .clone()
        .map(|table| (table, config.dedupe_keep));
    let mut handler = Handler::new(config)
        .inspect_err(|e| tracing::error!(error = %e, "send-email cannot start"))?;
    if let Some((table, keep)) = dedupe {
        let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
        handler = handler.with_dedupe(Dedupe::new(client, table, keep));
    }
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler.handle(event).await
    }))
    .await
}
