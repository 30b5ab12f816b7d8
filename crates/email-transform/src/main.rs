use email_transform::{Config, Handler};
use lambda_support::Env;

// One thread: a small Lambda has at most one vCPU and handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    let env = Env::from_process();
    let fail = |e: &dyn std::fmt::Display| tracing::error!(error = %e, "configuration error; not starting");
    let config = Config::from_env(&env).inspect_err(|e| fail(e))?;
    let sdk = lambda_support::aws_config().await;
    // Auth0 is optional here: only logs that carry nothing but a user_id need it.
    let auth0 = match env.optional(auth0_client::config::DOMAIN) {
        None => None,
        Some(_) => {
            let secrets = async || aws_sdk_secretsmanager::Client::new(&sdk);
            let auth0_config = auth0_client::Auth0Config::from_env(&env, secrets)
                .await
                .inspect_err(|e| fail(e))?;
            Some(auth0_client::Auth0Client::new(auth0_config).inspect_err(|e| fail(e))?)
        }
    };
    let handler = Handler::new(config, aws_sdk_eventbridge::Client::new(&sdk), auth0);
    let handler = &handler;
    lambda_support::event::run(move |event| async move { handler.handle(event).await }).await
}
