use lambda_support::Platform;

// One thread: a small Lambda has at most one vCPU and handles one request at a time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_support::init_tracing();
    let actions = dixa_patch_user::bootstrap(&Platform::lambda())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "dixa-patch-user cannot start"))?;
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
