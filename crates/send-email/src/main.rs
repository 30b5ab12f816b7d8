use lambda_runtime::{LambdaEvent, service_fn};
use lambda_support::Env;
use send_email::{Config, Handler};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    let env = Env::from_process();
    let config = Config::from_env(&env, async || {
        aws_sdk_secretsmanager::Client::new(&lambda_support::aws_config().await)
    })
    .await
    .inspect_err(|e| tracing::error!(error = %e, "send-email cannot start: configuration error"))?;
    let handler = Handler::new(config)
        .inspect_err(|e| tracing::error!(error = %e, "send-email cannot start"))?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler.handle(event).await
    }))
    .await
}
