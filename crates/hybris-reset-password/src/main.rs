use hybris_reset_password::{Config, Handler};
use lambda_runtime::{LambdaEvent, service_fn};
use lambda_support::Env;
use serde_json::Value;
use tokio::sync::OnceCell;

// One thread: a small Lambda has at most one vCPU and handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    // Built only if a setting names a Secrets Manager ARN, and then once for both clients.
    let secrets = OnceCell::new();
    let secrets_client = async || {
        secrets
            .get_or_init(async || {
                aws_sdk_secretsmanager::Client::new(&lambda_support::aws_config().await)
            })
            .await
            .clone()
    };
    let config = Config::from_env(&Env::from_process(), secrets_client)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration error; not starting"))?;
    let handler =
        Handler::new(config).inspect_err(|e| tracing::error!(error = %e, "could not start"))?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler.handle(event).await
    }))
    .await
}
