//! The AWS Lambda Runtime API (2018-06-01) on loopback, and a spawned function binary talking
//! to it: the function runs exactly as in Lambda (same `main`, same runtime client, same env
//! contract), and each invocation's result or error comes back to the test.

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::Value;
use std::{
    collections::HashMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::{mpsc, oneshot},
};

/// What the function reported for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error {
        error_type: String,
        error_message: String,
    },
}

struct Pending {
    id: String,
    /// The event's JSON text, as Lambda passes it on.
    body: String,
    deadline_ms: u128,
}

#[derive(Clone)]
struct Shared {
    /// When the function first asked for work: the end of its init phase.
    first_next: Arc<Mutex<Option<std::time::Instant>>>,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_error: Arc<Mutex<Option<Value>>>,
}

/// The Runtime API server plus the function process connected to it.
pub struct LambdaProcess {
    tx: mpsc::UnboundedSender<Pending>,
    shared: Shared,
    child: Child,
    output: Arc<Mutex<String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    next_id: u64,
    spawned_at: std::time::Instant,
}

impl LambdaProcess {
    /// Starts the Runtime API on an ephemeral port and spawns `binary` with the Lambda
    /// environment plus `env`. Its stdout and stderr are collected for [`Self::output`].
    pub async fn spawn(binary: &str, function_name: &str, env: &[(&str, String)]) -> Self {
        Self::spawn_with(binary, &[], function_name, env).await
    }

    /// [`Self::spawn`] with `program args...` as the command: a wrapper such as
    /// `valgrind --tool=callgrind <binary>` (the benchmark's instruction counts).
    pub async fn spawn_with(
        program: &str,
        args: &[String],
        function_name: &str,
        env: &[(&str, String)],
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            first_next: Arc::default(),
            queue: Arc::new(tokio::sync::Mutex::new(rx)),
            waiting: Arc::default(),
            init_error: Arc::default(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime api");
        let addr = listener.local_addr().expect("runtime api address");
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let spawned_at = std::time::Instant::now();
        let mut child = cmd.spawn().expect("spawn lambda binary");
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut out = output.lock().unwrap_or_else(|e| e.into_inner());
                    out.push_str(&line);
                    out.push('\n');
                }
            }));
        }
        Self {
            tx,
            shared,
            child,
            output,
            readers,
            next_id: 0,
            spawned_at,
        }
    }

    /// Sends one event and waits (up to `timeout`) for the function's answer. The function's
    /// deadline is `timeout` from now, as Lambda's would be.
    pub async fn invoke(&mut self, event: Value, timeout: Duration) -> Outcome {
        self.invoke_raw(event.to_string(), timeout).await
    }

    /// [`Self::invoke`] with the event's JSON text as given: for JSON a `Value` cannot hold
    /// (a lone surrogate escape) or that it would not build (nested too deep).
    pub async fn invoke_raw(&mut self, event: String, timeout: Duration) -> Outcome {
        self.next_id += 1;
        let id = format!("req-{}", self.next_id);
        let (done_tx, done_rx) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), done_tx);
        let deadline_ms = now_ms() + timeout.as_millis();
        self.tx
            .send(Pending {
                id,
                body: event,
                deadline_ms,
            })
            .expect("runtime api queue open");
        let wait = tokio::time::timeout(timeout + Duration::from_secs(5), done_rx).await;
        match wait {
            Ok(Ok(outcome)) => outcome,
            _ => {
                let init = self
                    .shared
                    .init_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let status = self.child.try_wait().ok().flatten();
                panic!(
                    "no answer from the function (exit status {status:?}, init error {init:?}); output:\n{}",
                    self.output()
                )
            }
        }
    }

    /// Time from spawning the process to its first request for work (Lambda's init phase),
    /// once it has asked.
    pub fn init_duration(&self) -> Option<Duration> {
        let first = *self
            .shared
            .first_next
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        first.map(|t| t.duration_since(self.spawned_at))
    }

    /// The function's process id while it runs (the benchmark reads its CPU time in `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Peak resident memory of the process so far, in KiB (Linux `VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Everything the function printed so far.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The init error the function reported, if it failed to start.
    pub async fn init_error(&mut self, wait: Duration) -> Option<Value> {
        let start = std::time::Instant::now();
        while start.elapsed() < wait {
            if let Some(e) = self
                .shared
                .init_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                return Some(e);
            }
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.shared
            .init_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Asks the process to stop as Lambda does at shutdown (SIGTERM), so a wrapper like
    /// valgrind writes its results; see [`Self::wait_exit`].
    pub fn terminate(&self) -> std::io::Result<()> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| std::io::Error::other("the process has exited"))?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("kill -TERM {pid}: {status}")))
        }
    }

    /// Waits for the process to end (e.g. after a failed start) and returns its exit code.
    /// Everything it printed is in [`Self::output`] once this returns.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()?
            .ok()?;
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
        }
        status.code()
    }
}

/// Starts `binary` with `env` and checks that it stops at start-up, with a non-zero exit code,
/// saying `missing required setting {setting}`.
pub async fn assert_start_up_stops_for(
    binary: &str,
    function_name: &str,
    env: &[(&str, String)],
    setting: &str,
) {
    let mut lambda = LambdaProcess::spawn(binary, function_name, env).await;
    let code = lambda.wait_exit(Duration::from_secs(10)).await;
    assert!(matches!(code, Some(c) if c != 0), "exit code {code:?}");
    let output = lambda.output();
    assert!(
        output.contains(&format!("missing required setting {setting}")),
        "{output}"
    );
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

async fn next(State(s): State<Shared>) -> Response {
    s.first_next
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(std::time::Instant::now);
    let Some(p) = s.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = v.parse() {
            headers.insert(k, v);
        }
    };
    set("lambda-runtime-aws-request-id", p.id);
    set("lambda-runtime-deadline-ms", p.deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:test".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, p.body).into_response()
}

fn finish(s: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match s
        .waiting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(id)
    {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    finish(&s, &id, Outcome::Response(value))
}

async fn error(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    finish(
        &s,
        &id,
        Outcome::Error {
            error_type: field("errorType"),
            error_message: field("errorMessage"),
        },
    )
}

async fn init_error(State(s): State<Shared>, body: Bytes) -> StatusCode {
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    *s.init_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
    StatusCode::ACCEPTED
}
