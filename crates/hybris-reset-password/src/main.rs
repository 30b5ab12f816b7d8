use lambda_support::Platform;

// One thread: a small Lambda has at most one vCPU and handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    let handler = hybris_reset_password::bootstrap(&Platform::lambda())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "hybris-reset-password cannot start"))?;
    let handler = &handler;
    // The token requests go out beside the runtime's first poll for work (one thread, two
    // futures): a cold start's first event finds them fetched or in flight.
    let (_, served) = tokio::join!(
        handler.warm_up(),
        lambda_support::event::run(move |event| async move { handler.handle(event).await })
    );
    served
}
