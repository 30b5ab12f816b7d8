//! What every server of the local system shares, and the two things they do with it: put an
//! event on a bus (every function whose rule matches is invoked asynchronously) and run one
//! invocation in a Lambda-like container (cold start, warm reuse, the template's timeout).
//!
//! The shape is one way: [`crate::runner::system`] builds a [`Shared`] and hands it to the servers
//! (the EventBridge endpoint, [`crate::runner::api`]); this module knows neither of them.

use crate::{
    aws::eventbridge::{ACCOUNT, EventRouter, REGION},
    aws::topology::{STACK_NAME, Topology},
    runner::functions::{Container, FunctionEnv, Handler, Pools},
    runner::hops::{NewHop, What},
    runner::tracker::{Current, Tracker},
    runner::util::now_ms,
};
use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the servers and invocations share.
pub struct Shared {
    pub topology: Topology,
    pub router: EventRouter,
    pub tracker: Tracker,
    pub pools: Pools,
    pub env: FunctionEnv,
}

impl Shared {
    /// Puts an accepted event on its bus: records it and invokes every function whose rule
    /// matches, asynchronously (one task per invocation). Returns the event id.
    pub fn deliver(
        self: &Arc<Self>,
        bus: &str,
        envelope: Value,
        trace: Option<String>,
        parent: Option<String>,
        from: Option<String>,
    ) -> String {
        let event_id = envelope["id"].as_str().unwrap_or_default().to_owned();
        let trace = trace.unwrap_or_else(|| event_id.clone());
        let text = |k: &str| envelope[k].as_str().unwrap_or_default().to_owned();
        self.tracker.hops.push(NewHop {
            trace: trace.clone(),
            parent,
            id: Some(event_id.clone()),
            what: What::EventAccepted {
                bus: bus.to_owned(),
                event_id: event_id.clone(),
                source: text("source"),
                detail_type: text("detail-type"),
                from,
            },
        });
        let rules = self.router.matching(bus, &envelope);
        if rules.is_empty() {
            self.tracker.hops.push(NewHop {
                trace: trace.clone(),
                parent: Some(event_id.clone()),
                id: None,
                what: What::NoRuleMatched {
                    bus: bus.to_owned(),
                    event_id: event_id.clone(),
                },
            });
        }
        for rule in rules {
            let request_id = uuid::Uuid::new_v4().to_string();
            self.tracker.hops.start(NewHop {
                trace: trace.clone(),
                parent: Some(event_id.clone()),
                id: Some(request_id.clone()),
                what: What::RuleMatched {
                    bus: bus.to_owned(),
                    rule: rule.name.clone(),
                    function: rule.function.clone(),
                    request_id: request_id.clone(),
                },
            });
            let shared = Arc::clone(self);
            let function = rule.function.clone();
            let payload = envelope.clone();
            let trace = trace.clone();
            tokio::spawn(async move {
                shared
                    .invoke_async(function, payload, trace, request_id)
                    .await;
            });
        }
        event_id
    }

    /// An asynchronous invocation (EventBridge → Lambda): the result is only reported.
    async fn invoke_async(
        self: Arc<Self>,
        function: String,
        payload: Value,
        trace: String,
        request_id: String,
    ) {
        let result = self
            .run(&function, &trace, &request_id, move |c, ctx| {
                Box::pin(async move { c.handler.invoke_event(payload, ctx).await })
            })
            .await;
        let what = match result {
            Ok(result) => What::Succeeded {
                function,
                request_id: request_id.clone(),
                result,
            },
            Err(d) => {
                let then = self.topology.functions.get(&function).map(|f| {
                    format!(
                        "Lambda would retry it {} more time(s), then send it to {}; not retried locally",
                        f.max_retries.unwrap_or(2),
                        f.on_failure
                            .as_deref()
                            .unwrap_or("no OnFailure destination (the event is dropped)")
                    )
                });
                What::Failed {
                    function,
                    request_id: request_id.clone(),
                    error_type: d.error_type,
                    error_message: d.error_message,
                    then,
                }
            }
        };
        self.tracker.hops.finish(NewHop {
            trace,
            parent: Some(request_id),
            id: None,
            what,
        });
    }

    /// Runs one invocation in a warm container (or a new one: cold start), within the
    /// function's timeout from the template.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        function: &str,
        trace: &str,
        request_id: &str,
        call: impl FnOnce(Arc<Container>, Context) -> BoxFuture<Result<T, Diagnostic>>,
    ) -> Result<T, Diagnostic> {
        let (container, cold) = match self.pools.take_idle(function) {
            Some(c) => (c, false),
            None => {
                let id = self.pools.new_id(function);
                let platform = self.env.platform_for(function, &id);
                let handler = Handler::build(function.to_owned(), platform).await?;
                let container = Container {
                    id,
                    function: function.to_owned(),
                    handler,
                };
                (Arc::new(container), true)
            }
        };
        self.tracker.enter(
            &container.id,
            Current {
                trace: trace.to_owned(),
                function: function.to_owned(),
                request_id: request_id.to_owned(),
            },
        );
        self.tracker.hops.push(NewHop {
            trace: trace.to_owned(),
            parent: Some(request_id.to_owned()),
            id: None,
            what: What::Invoked {
                function: function.to_owned(),
                request_id: request_id.to_owned(),
                container: container.id.clone(),
                cold,
            },
        });
        let timeout = Duration::from_secs(
            self.topology
                .functions
                .get(function)
                .map_or(3, |f| f.timeout_s),
        );
        let mut ctx = Context::default();
        ctx.request_id = request_id.to_owned();
        ctx.deadline = now_ms() + timeout.as_millis() as u64;
        ctx.invoked_function_arn =
            format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK_NAME}-{function}");
        let mut task = tokio::spawn(call(Arc::clone(&container), ctx));
        let outcome = match tokio::time::timeout(timeout, &mut task).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(_)) => None,
            Err(_) => {
                task.abort();
                self.tracker.leave(&container.id);
                return Err(Diagnostic {
                    error_type: "Sandbox.Timedout".into(),
                    error_message: format!(
                        "Task timed out after {:.2} seconds",
                        timeout.as_secs_f64()
                    ),
                });
            }
        };
        self.tracker.leave(&container.id);
        match outcome {
            Some(result) => {
                self.pools.give_back(container);
                result
            }
            // A panic: Lambda's runtime reports it as the invocation's error.
            None => Err(Diagnostic {
                error_type: "Runtime.HandlerPanic".into(),
                error_message: "the handler panicked".into(),
            }),
        }
    }
}
