//! The AWS side of the local system, read from `infra/template.yaml`: what the template deploys
//! ([`topology`]), EventBridge's buses, rules and envelopes ([`eventbridge`]) and API Gateway's
//! proxy events ([`apigw`]), SQS event source mapping batches ([`sqs`]). Plain data and conversions: nothing here runs a function or
//! serves a request (that is [`crate::runner`]'s), so nothing here depends on the runner.

pub mod apigw;
pub mod eventbridge;
pub mod sqs;
pub mod topology;
