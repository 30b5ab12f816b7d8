use lambda_support::Platform;

// One thread: a small Lambda has at most one vCPU and handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    let handler = email_transform::bootstrap(&Platform::lambda())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "email-transform cannot start"))?;
    let handler = &handler;
    lambda_support::event::run(move |event| async move { handler.handle(event).await }).await
}
