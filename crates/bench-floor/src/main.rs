//! The floor `cargo xtask bench` measures every function against: `lambda_runtime` answering
//! each event with the event itself, on the same one-thread runtime the functions use. Nothing
//! else (no logging, no clients), so the difference to it is what a function adds.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, lambda_runtime::Error>(event.payload)
    }))
    .await
}
