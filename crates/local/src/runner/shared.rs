//! What every server of the local system shares, and what they do with it: put an event on a
//! bus (every rule that matches invokes its function asynchronously or fills its queue), run
//! the template's asynchronous invocations as Lambda does (retries after 1 and 2 minutes, the
//! maximum event age, reserved concurrency, the OnFailure queue), read a function's queue as an
//! event source mapping does (batches, maximum concurrency, partial batch responses, the
//! visibility timeout and the dead-letter queue), and run one invocation in a Lambda-like
//! container (cold start, warm reuse, the template's timeout). Lambda's and SQS's waits are
//! real durations times [`Shared::time_scale`].
//!
//! The shape is one way: [`crate::runner::system`] builds a [`Shared`] and hands it to the servers
//! (the EventBridge endpoint, [`crate::runner::api`]); this module knows neither of them.

use crate::{
    aws::eventbridge::{ACCOUNT, EventRouter, REGION},
    aws::topology::{QueueSource, STACK_NAME, Topology},
    runner::functions::{Container, FunctionEnv, Handler, Pools},
    runner::hops::{NewHop, What},
    runner::queues::{Message, Queues},
    runner::tracker::{Current, Tracker},
    runner::util::now_ms,
};
use lambda_runtime::{Context, Diagnostic};
use serde_json::Value;
use std::{
    collections::{HashMap, HashSet},
    future::Future,
    pin::Pin,
    sync::Arc,
    time::Duration,
};
use tokio::sync::{Semaphore, watch};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the servers and invocations share.
pub struct Shared {
    pub topology: Topology,
    pub router: EventRouter,
    pub tracker: Tracker,
    pub pools: Pools,
    pub env: FunctionEnv,
    pub queues: Queues,
    /// Reserved concurrency per function (`ReservedConcurrentExecutions`).
    pub reserved: HashMap<String, Arc<Semaphore>>,
    /// Lambda's and SQS's waits are multiplied by this (1: as deployed; tests make them short).
    pub time_scale: f64,
}

/// Lambda's waits before the second and the third attempt of an asynchronous invocation.
const ASYNC_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];
/// Lambda's default maximum event age (6 h).
const DEFAULT_MAX_EVENT_AGE: Duration = Duration::from_secs(21_600);
/// How often an idle event source mapping looks at its queue when nothing wakes it.
const POLL_EVERY: Duration = Duration::from_millis(100);

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
            if let Some(queue) = &rule.queue {
                // The rule fills the queue; the function's event source mapping reads it.
                let message_id =
                    self.queues
                        .send(queue, envelope.to_string(), trace.clone(), event_id.clone());
                self.tracker.hops.start(NewHop {
                    trace: trace.clone(),
                    parent: Some(event_id.clone()),
                    id: Some(message_id.clone()),
                    what: What::Queued {
                        bus: bus.to_owned(),
                        rule: rule.name.clone(),
                        queue: queue.clone(),
                        function: rule.function.clone(),
                        message_id,
                    },
                });
                continue;
            }
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

    /// A wait of Lambda's or SQS's, scaled.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.time_scale.max(0.0))
    }

    /// An asynchronous invocation (EventBridge → Lambda): up to three attempts, 1 and then 2
    /// minutes apart, each waiting for a reserved-concurrency slot when the function has
    /// reserved concurrency (a throttled event waits, it is not an attempt); after the last
    /// failure, or when the event is older than the maximum event age, Lambda's OnFailure
    /// record goes to the function's OnFailure queue.
    pub async fn invoke_async(
        self: Arc<Self>,
        function: String,
        payload: Value,
        trace: String,
        request_id: String,
    ) {
        let spec = self.topology.functions.get(&function);
        let retries = spec.and_then(|f| f.max_retries).unwrap_or(2) as usize;
        let max_age = self.scaled(
            spec.and_then(|f| f.max_event_age_s)
                .map_or(DEFAULT_MAX_EVENT_AGE, Duration::from_secs),
        );
        let on_failure = spec.and_then(|f| f.on_failure.clone());
        let received = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let slot = match self.reserved.get(&function) {
                Some(slots) => {
                    let left = max_age.saturating_sub(received.elapsed());
                    match tokio::time::timeout(left, Arc::clone(slots).acquire_owned()).await {
                        Ok(Ok(permit)) => Some(permit),
                        _ => {
                            let d = Diagnostic {
                                error_type: "EventAgeExceeded".into(),
                                error_message: "throttled past the maximum event age".into(),
                            };
                            self.give_up(
                                &function,
                                &payload,
                                &trace,
                                &request_id,
                                attempt - 1,
                                d,
                                "EventAgeExceeded",
                                on_failure.as_deref(),
                            );
                            return;
                        }
                    }
                }
                None => None,
            };
            let call_payload = payload.clone();
            let result = self
                .run(
                    &function,
                    &trace,
                    &request_id,
                    &request_id,
                    move |c, ctx| {
                        Box::pin(async move { c.handler.invoke_event(call_payload, ctx).await })
                    },
                )
                .await;
            drop(slot);
            let d = match result {
                Ok(result) => {
                    self.tracker.hops.finish(NewHop {
                        trace,
                        parent: Some(request_id.clone()),
                        id: None,
                        what: What::Succeeded {
                            function,
                            request_id,
                            result,
                        },
                    });
                    return;
                }
                Err(d) => d,
            };
            let delay = ASYNC_RETRY_DELAYS
                .get(attempt - 1)
                .map(|d| self.scaled(*d))
                .filter(|_| attempt <= retries);
            match delay {
                Some(delay) if received.elapsed() + delay < max_age => {
                    self.tracker.hops.push(NewHop {
                        trace: trace.clone(),
                        parent: Some(request_id.clone()),
                        id: None,
                        what: What::failed(
                            &function,
                            &request_id,
                            d,
                            format!(
                                "Lambda retries it in {} (attempt {} of {})",
                                seconds(delay),
                                attempt + 1,
                                retries + 1
                            ),
                        ),
                    });
                    tokio::time::sleep(delay).await;
                }
                _ => {
                    let condition = if attempt > retries {
                        "RetriesExhausted"
                    } else {
                        "EventAgeExceeded"
                    };
                    self.give_up(
                        &function,
                        &payload,
                        &trace,
                        &request_id,
                        attempt,
                        d,
                        condition,
                        on_failure.as_deref(),
                    );
                    return;
                }
            }
        }
    }

    /// The end of an asynchronous invocation that failed: Lambda's OnFailure record (its
    /// documented shape) on the OnFailure queue, or the event dropped when there is none.
    #[allow(clippy::too_many_arguments)]
    fn give_up(
        &self,
        function: &str,
        payload: &Value,
        trace: &str,
        request_id: &str,
        attempts: usize,
        d: Diagnostic,
        condition: &str,
        on_failure: Option<&str>,
    ) {
        let then = match on_failure {
            Some(queue) => {
                let record = serde_json::json!({
                    "version": "1.0",
                    "timestamp": lambda_support::time::now_rfc3339(),
                    "requestContext": {
                        "requestId": request_id,
                        "functionArn": format!("{}:$LATEST", function_arn(function)),
                        "condition": condition,
                        "approximateInvokeCount": attempts,
                    },
                    "requestPayload": payload,
                    "responseContext": {
                        "statusCode": 200,
                        "executedVersion": "$LATEST",
                        "functionError": "Unhandled",
                    },
                    "responsePayload": {"errorType": d.error_type, "errorMessage": d.error_message},
                });
                self.queues.send(
                    queue,
                    record.to_string(),
                    trace.to_owned(),
                    request_id.to_owned(),
                );
                format!("{condition} after {attempts} attempt(s): sent to {queue}")
            }
            None => format!(
                "{condition} after {attempts} attempt(s): no OnFailure destination, the event is dropped"
            ),
        };
        self.tracker.hops.finish(NewHop {
            trace: trace.to_owned(),
            parent: Some(request_id.to_owned()),
            id: None,
            what: What::failed(function, request_id, d, then),
        });
    }

    /// An SQS event source mapping: takes batches from the function's queue while fewer than
    /// its maximum concurrency are running, until `stop`.
    pub async fn poll(
        self: Arc<Self>,
        function: String,
        source: QueueSource,
        mut stop: watch::Receiver<bool>,
    ) {
        let slots = Arc::new(Semaphore::new(source.max_concurrency.unwrap_or(1_000)));
        // A batch keeps its messages until it ends, then a failed one waits out the (scaled)
        // visibility timeout from its receive. In AWS the visibility timeout, six times the
        // function's timeout, is what keeps a running batch's messages from being received
        // again; scaled down for tests it would not be, so the end of the batch does.
        let held = Duration::from_secs(86_400);
        loop {
            let permit = tokio::select! {
                p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => return },
                _ = stop.wait_for(|s| *s) => return,
            };
            let batch = loop {
                let got = self.queues.receive(
                    &source.queue,
                    source.batch_size,
                    held,
                    source.dead_letter.as_ref(),
                );
                for m in &got.dead_lettered {
                    self.dead_lettered(&function, &source, m);
                }
                if !got.messages.is_empty() {
                    break got.messages;
                }
                let now = tokio::time::Instant::now();
                let until = self
                    .queues
                    .next_visible(&source.queue)
                    .map_or(now + POLL_EVERY, |t| t.min(now + POLL_EVERY))
                    .max(now + Duration::from_millis(1));
                tokio::select! {
                    _ = self.queues.changed_or(until) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            };
            let shared = Arc::clone(&self);
            let function = function.clone();
            let source = source.clone();
            tokio::spawn(async move {
                shared.invoke_batch(&function, &source, batch).await;
                drop(permit);
            });
        }
    }

    /// One batch from a queue, and what the event source mapping does with the answer: the
    /// records the function did not name as failures are deleted (all of them when it does not
    /// report batch item failures); after an invocation error every record stays.
    async fn invoke_batch(
        self: &Arc<Self>,
        function: &str,
        source: &QueueSource,
        batch: Vec<Message>,
    ) {
        let received = tokio::time::Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let payload = crate::aws::sqs::event(
            &source.queue,
            batch.iter().map(|m| crate::aws::sqs::Received {
                message_id: &m.message_id,
                body: &m.body,
                receive_count: m.receive_count,
                sent_ms: m.sent_ms,
            }),
        );
        let first = &batch[0];
        let result = self
            .run(
                function,
                &first.trace,
                &first.message_id,
                &request_id,
                move |c, ctx| Box::pin(async move { c.handler.invoke_batch(payload, ctx).await }),
            )
            .await;
        let (failed, mut records): (HashSet<String>, HashMap<String, Result<Value, Diagnostic>>) =
            match result {
                Ok((wire, records)) => {
                    let failed = if source.partial_batch {
                        wire["batchItemFailures"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                            .collect()
                    } else {
                        HashSet::new()
                    };
                    (failed, records.into_iter().collect())
                }
                Err(d) => (
                    batch.iter().map(|m| m.message_id.clone()).collect(),
                    batch
                        .iter()
                        .map(|m| (m.message_id.clone(), Err(d.clone())))
                        .collect(),
                ),
            };
        let mut done = Vec::new();
        for m in &batch {
            let record = records.remove(&m.message_id).unwrap_or_else(|| {
                Err(Diagnostic {
                    error_type: "NoRecordResult".into(),
                    error_message: "the function said nothing of this record".into(),
                })
            });
            let hop = |what| NewHop {
                trace: m.trace.clone(),
                parent: Some(m.message_id.clone()),
                id: None,
                what,
            };
            if failed.contains(&m.message_id) {
                let d = record.err().unwrap_or_else(|| Diagnostic {
                    error_type: "ReportedFailed".into(),
                    error_message: "named in batchItemFailures".into(),
                });
                let then = match &source.dead_letter {
                    Some((dlq, max)) if m.receive_count >= *max => format!(
                        "receive {} of {max}: moves to {dlq} on the next receive",
                        m.receive_count
                    ),
                    Some((_, max)) => format!(
                        "back to {} in {} (receive {} of {max})",
                        source.queue,
                        seconds(self.scaled(Duration::from_secs(source.visibility_timeout_s))),
                        m.receive_count
                    ),
                    None => format!("back to {}", source.queue),
                };
                self.tracker
                    .hops
                    .push(hop(What::failed(function, &request_id, d, then)));
            } else {
                done.push(m.message_id.clone());
                let what = match record {
                    Ok(result) => What::Succeeded {
                        function: function.to_owned(),
                        request_id: request_id.clone(),
                        result,
                    },
                    // Not reported as failed: the event source mapping deletes it anyway.
                    Err(d) => What::failed(
                        function,
                        &request_id,
                        d,
                        "not reported as a batch item failure: deleted",
                    ),
                };
                self.tracker.hops.finish(hop(what));
            }
        }
        self.queues.delete(&source.queue, &done);
        let failed: Vec<String> = failed.into_iter().collect();
        let visibility = self.scaled(Duration::from_secs(source.visibility_timeout_s));
        self.queues
            .release(&source.queue, &failed, received + visibility);
    }

    /// Redrives `queue`: a dead-letter queue's messages go back to the queue that feeds it
    /// (as SQS's `StartMessageMoveTask`), an OnFailure queue's events are invoked again
    /// asynchronously. `None`: `queue` is neither. Returns how many were redriven.
    pub fn redrive(self: &Arc<Self>, queue: &str) -> Option<usize> {
        for (binary, f) in &self.topology.functions {
            if let Some(source) = &f.queue_source
                && source.dead_letter.as_ref().is_some_and(|(q, _)| q == queue)
            {
                let messages = self.queues.take_all(queue);
                let n = messages.len();
                for m in &messages {
                    self.tracker.hops.start(NewHop {
                        trace: m.trace.clone(),
                        parent: Some(m.message_id.clone()),
                        id: Some(m.message_id.clone()),
                        what: What::Redriven {
                            from: queue.to_owned(),
                            to: source.queue.clone(),
                            function: binary.clone(),
                        },
                    });
                }
                self.queues.put_back(&source.queue, messages);
                return Some(n);
            }
            if f.on_failure.as_deref() == Some(queue) {
                let records = self.queues.take_all(queue);
                let n = records.len();
                for m in records {
                    let Ok(record) = serde_json::from_str::<Value>(&m.body) else {
                        continue;
                    };
                    let request_id = uuid::Uuid::new_v4().to_string();
                    self.tracker.hops.start(NewHop {
                        trace: m.trace.clone(),
                        parent: Some(m.parent.clone()),
                        id: Some(request_id.clone()),
                        what: What::Redriven {
                            from: queue.to_owned(),
                            to: binary.clone(),
                            function: binary.clone(),
                        },
                    });
                    let shared = Arc::clone(self);
                    let function = binary.clone();
                    let payload = record["requestPayload"].clone();
                    tokio::spawn(async move {
                        shared
                            .invoke_async(function, payload, m.trace, request_id)
                            .await;
                    });
                }
                return Some(n);
            }
        }
        None
    }

    fn dead_lettered(&self, function: &str, source: &QueueSource, m: &Message) {
        let (dlq, max) = source
            .dead_letter
            .clone()
            .unwrap_or_else(|| (String::new(), 0));
        self.tracker.hops.finish(NewHop {
            trace: m.trace.clone(),
            parent: Some(m.message_id.clone()),
            id: None,
            what: What::DeadLettered {
                function: function.to_owned(),
                queue: source.queue.clone(),
                dead_letter_queue: dlq,
                receives: max,
            },
        });
    }

    /// Runs one invocation in a warm container (or a new one: cold start), within the
    /// function's timeout from the template.
    /// `parent` is the hop the invocation hangs under (the rule match, the API request, the
    /// first message of a batch).
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        function: &str,
        trace: &str,
        parent: &str,
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
                request_id: parent.to_owned(),
            },
        );
        self.tracker.hops.push(NewHop {
            trace: trace.to_owned(),
            parent: Some(parent.to_owned()),
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
        ctx.invoked_function_arn = function_arn(function);
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

fn function_arn(function: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK_NAME}-{function}")
}

/// A wait in words: "60 s", "0.06 s".
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.3} s")
    }
}
