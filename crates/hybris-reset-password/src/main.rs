use hybris_reset_password::{Config, Handler};
use lambda_support::{Env, LazyAws};

// One thread: a small Lambda has at most one vCPU and handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    let aws = LazyAws::default();
    let config = Config::from_env(&Env::from_process(), async || aws.secrets_manager().await)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration error; not starting"))?;
    let handler =
        Handler::new(config).inspect_err(|e| tracing::error!(error = %e, "could not start"))?;
    let handler = &handler;
    // The token requests go out beside the runtime's first poll for work (one thread, two
    // futures): a cold start's first event finds them fetched or in flight.
    let (_, served) = tokio::join!(
        handler.warm_up(),
        lambda_support::event::run(move |event| async move { handler.handle(event).await })
    );
    served
}
