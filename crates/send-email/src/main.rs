use lambda_support::Platform;

// One thread: a small Lambda has at most one vCPU and handles one event at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_support::init_tracing();
    let handler = send_email::bootstrap(&Platform::lambda())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "send-email cannot start"))?;
    let handler = &handler;
    // The queue's event source mapping invokes it with a batch (see `send_email::batch`).
    lambda_support::event::run(move |event| async move {
        handler.handle_batch(event).await.map(|o| o.response())
    })
    .await
}
