//! The Lambda event loop for the EventBridge functions, reading the event as raw JSON first.
//!
//! `lambda_runtime` parses each event into the handler's type before the handler runs; JSON
//! that Lambda accepts but `serde_json` will not build a value from (nested deeper than 128
//! levels, a lone UTF-16 surrogate escape such as `"\ud800"`) would then fail with the
//! runtime's own `DeserializeError`. Here the event is taken as raw JSON (which only checks
//! the syntax) and turned into a value by [`parse`], so such an event fails as
//! `MalformedEvent` with one PII-free log line, like every other malformed event.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, value::RawValue};

/// The `errorType` of an event the function cannot read.
pub const MALFORMED_EVENT: &str = "MalformedEvent";

/// The event as a JSON value, or a `MalformedEvent` diagnostic. serde_json's messages for a
/// value parse name the problem and a position only (never input text).
pub fn parse(raw: &RawValue) -> Result<Value, Diagnostic> {
    serde_json::from_str(raw.get()).map_err(|e| {
        let error_message = format!("event is not JSON this function can read: {e}");
        tracing::error!(error_type = MALFORMED_EVENT, error = %error_message, "refused event");
        Diagnostic {
            error_type: MALFORMED_EVENT.to_owned(),
            error_message,
        }
    })
}

/// Runs `handler` for every event, as `lambda_runtime::run` does, after [`parse`]. The
/// handler's outcome is any serialisable type: the runtime serialises it as the response.
pub async fn run<F, Fut, O, E>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<O, E>>,
    O: serde::Serialize,
    E: Into<Diagnostic>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let payload = parse(&event.payload)?;
            handler(LambdaEvent::new(payload, event.context))
                .await
                .map_err(Into::into)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn unreadable_json_is_a_malformed_event() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for text in [deep.as_str(), r#"{"detail": "\ud800 jane@example.com"}"#] {
            // Raw JSON takes it (Lambda did too)...
            let raw = raw(text);
            // ...a value cannot.
            let d = parse(&raw).unwrap_err();
            assert_eq!(d.error_type, "MalformedEvent");
            assert!(!d.error_message.contains("jane"), "{}", d.error_message);
        }
        assert_eq!(
            parse(&raw(r#"{"a": [1, "x"]}"#)).unwrap(),
            serde_json::json!({"a": [1, "x"]})
        );
    }
}
