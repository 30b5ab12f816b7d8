use dixa_patch_user::{Actions, Config};
use lambda_support::{Env, LazyAws};

// One thread: a small Lambda has at most one vCPU and handles one request at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_support::init_tracing();
    // One SDK configuration (lambda-support's HTTP stack, Lambda's environment) for the
    // EventBridge client and, when a setting names an ARN, Secrets Manager.
    let aws = LazyAws::default();
    let config = Config::from_env(&Env::from_process(), async || aws.secrets_manager().await)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration error; not starting"))?;
    let actions = Actions::new(config, aws.config().await)
        .inspect_err(|e| tracing::error!(error = %e, "could not start"))?;
    let actions = &actions;
    // Not `lambda_http::run`: it panics on some envelopes (see `dixa_access::envelope`).
    // The token requests go out beside the runtime's first poll for work (one thread, two
    // futures): a cold start's first event finds them fetched or in flight.
    let (_, served) = tokio::join!(
        actions.warm_up(),
        dixa_access::envelope::run(move |req| async move { actions.handle(req).await })
    );
    served
}
