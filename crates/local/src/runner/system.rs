//! [`LocalSystem`]: everything started on loopback, wired by the template.

pub use crate::runner::state::Endpoints;
use crate::{
    aws::eventbridge::{self, EventRouter},
    aws::topology::{AUTH0_PARTNER_BUS, EMAIL_BUS, Topology},
    outbox::Outbox,
    runner::api::DixaSecrets,
    runner::error::LocalError,
    runner::functions::{FunctionEnv, Pools},
    runner::hops::{Hops, HopsPage, NewHop, What},
    runner::queues::{QueueView, Queues},
    runner::shared::Shared,
    runner::state::{Buses, StateFile},
    runner::tracker::{Caller, Tracker, bind, serve},
    sandbox::{
        Auth0Sandbox, Auth0Settings, BloomreachSandbox, BloomreachSettings, HybrisSandbox,
        HybrisSettings, Running, Sandbox, auth0, hybris, rate::RateLimit,
    },
};
use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use lambda_support::{MemoryStores, time::Clock};
use serde::Deserialize;
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// Ports to listen on; 0 takes any free port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ports {
    pub eventbridge: u16,
    pub api: u16,
    pub auth0: u16,
    pub bloomreach: u16,
    pub hybris: u16,
}

impl Ports {
    /// `base`, `base + 1`, ... in the order EventBridge, API, Auth0, Bloomreach, Hybris.
    pub fn from_base(base: u16) -> Self {
        if base == 0 {
            return Self::default();
        }
        Self {
            eventbridge: base,
            api: base + 1,
            auth0: base + 2,
            bloomreach: base + 3,
            hybris: base + 4,
        }
    }
}

/// How to start the system.
#[derive(Debug, Clone)]
pub struct Options {
    /// The SAM template the buses, rules and routes come from.
    pub template: PathBuf,
    /// Where the sandboxes write emails (emptied at start).
    pub outbox: PathBuf,
    /// Always a loopback address.
    pub host: IpAddr,
    pub ports: Ports,
    /// Settings a person gave (`up` passes its environment): a provider whose URL setting is
    /// here is used for real instead of its sandbox.
    pub env: HashMap<String, String>,
    /// Print every hop as it happens.
    pub print_hops: bool,
    pub auth0_seed: String,
    /// Whether the Auth0 sandbox logs `sce` for a Management API email change (default `true`;
    /// `LOCAL_AUTH0_LOGS_SCE=false` for `up`).
    pub auth0_logs_sce: bool,
    /// Whether the Auth0 sandbox answers as an Enterprise tenant (sign out everywhere works;
    /// default `true`; `--auth0-plan other` for `up`).
    pub auth0_enterprise: bool,
    /// Each sandbox's rate limit (default `None`: unlimited; `--auth0-rps`, `--bloomreach-rps`,
    /// `--hybris-rps` for `up`).
    pub rate_limits: RateLimits,
    pub hybris_seed: String,
    /// The Dixa card template the preview renders (read on every request).
    pub card: PathBuf,
    /// `(function, name, value)`: settings for one function only, applied last (tests, e.g.
    /// dixa-patch-user's `EMAIL_BUS_NAME` naming a bus that does not exist).
    pub function_env: Vec<(String, String, String)>,
    /// Lambda's and SQS's waits (retry delays, visibility timeouts, event ages) are multiplied
    /// by this: 1 is as deployed (`--time-scale` for `up`).
    pub time_scale: f64,
}

impl Options {
    /// Any free ports, every sandbox, the default seeds.
    pub fn new(template: PathBuf, outbox: PathBuf) -> Self {
        Self {
            outbox,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: Ports::default(),
            env: HashMap::new(),
            print_hops: false,
            auth0_seed: auth0::DEFAULT_SEED.to_owned(),
            auth0_logs_sce: true,
            auth0_enterprise: true,
            rate_limits: RateLimits::default(),
            function_env: Vec::new(),
            time_scale: 1.0,
            hybris_seed: hybris::DEFAULT_SEED.to_owned(),
            // The clone's card: the template is `<clone>/infra/template.yaml`.
            card: template
                .parent()
                .and_then(std::path::Path::parent)
                .unwrap_or(std::path::Path::new("."))
                .join(crate::dixa_card::CARD_FILE),
            template,
        }
    }
}

/// A rate limit per sandbox; `None`: unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    pub auth0: Option<RateLimit>,
    pub bloomreach: Option<RateLimit>,
    pub hybris: Option<RateLimit>,
}

/// The running system. Dropping it stops the servers.
pub struct LocalSystem {
    shared: Arc<Shared>,
    endpoints: Endpoints,
    dixa: DixaSecrets,
    outbox: Outbox,
    auth0: Option<Auth0Sandbox>,
    bloomreach: Option<BloomreachSandbox>,
    hybris: Option<HybrisSandbox>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

fn url_of_sandbox(sandboxes: &[Running], name: &str) -> Option<String> {
    sandboxes
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.url.clone())
}

/// A [`Sandbox`] as the start-up serves it (the trait itself is not object-safe).
trait ServeSandbox {
    fn name(&self) -> &'static str;
    fn router(&self) -> Router;
    fn running(&self, url: String) -> Running;
}

impl<S: Sandbox> ServeSandbox for S {
    fn name(&self) -> &'static str {
        S::NAME
    }
    fn router(&self) -> Router {
        Sandbox::router(self)
    }
    fn running(&self, url: String) -> Running {
        Running::new(self, url)
    }
}

fn url_of(listener: &TcpListener, what: &'static str) -> Result<String, LocalError> {
    listener
        .local_addr()
        .map(|a| format!("http://{a}"))
        .map_err(|source| LocalError::LocalAddr { what, source })
}

/// Runs blocking work (file I/O) off the async workers.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, LocalError> + Send + 'static,
) -> Result<T, LocalError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|source| LocalError::Blocking { what, source })?
}

impl LocalSystem {
    /// Starts everything: sandboxes, the EventBridge endpoint with the template's buses and
    /// rules, the API routes. Functions start on their first event (cold start).
    pub async fn start(options: Options) -> Result<Self, LocalError> {
        if !options.host.is_loopback() {
            return Err(LocalError::NotLoopback(options.host));
        }
        let template = options.template.clone();
        let topology = blocking("template", move || Ok(Topology::load(&template)?)).await?;
        let host = options.host;
        let ports = options.ports;
        // Every port first: a start that cannot listen fails before it empties the outbox.
        let eventbridge_listener = bind(host, ports.eventbridge, "EventBridge endpoint").await?;
        let mut auth0_listener = None;
        if !Auth0Sandbox::is_real(&options.env) {
            auth0_listener = Some(bind(host, ports.auth0, "Auth0 sandbox").await?);
        }
        let mut bloomreach_listener = None;
        if !BloomreachSandbox::is_real(&options.env) {
            bloomreach_listener = Some(bind(host, ports.bloomreach, "Bloomreach sandbox").await?);
        }
        let mut hybris_listener = None;
        if !HybrisSandbox::is_real(&options.env) {
            hybris_listener = Some(bind(host, ports.hybris, "Hybris sandbox").await?);
        }
        let mut api_listener = None;
        if !topology.api_routes.is_empty() {
            api_listener = Some(bind(host, ports.api, "API Gateway").await?);
        }
        // Empties the outbox folder: blocking file I/O.
        let dir = options.outbox.clone();
        let outbox = blocking("outbox", move || {
            Outbox::create(&dir).map_err(|source| LocalError::Outbox { dir, source })
        })
        .await?;
        let hops = if options.print_hops {
            Hops::printing(|h| println!("{}", h.indented()))
        } else {
            Hops::default()
        };
        let tracker = Tracker::new(hops);
        let (stop, stop_rx) = watch::channel(false);
        let mut servers = Vec::new();
        let mut sandboxes: Vec<Running> = Vec::new();
        // Serves a sandbox and records what it gives the functions.
        let mut start =
            |listener: TcpListener, sandbox: &dyn ServeSandbox| -> Result<(), LocalError> {
                let url = url_of(&listener, sandbox.name())?;
                servers.push(serve(
                    listener,
                    sandbox.router(),
                    tracker.clone(),
                    Some(sandbox.name()),
                    stop_rx.clone(),
                ));
                sandboxes.push(sandbox.running(url));
                Ok(())
            };

        let eventbridge_url = url_of(&eventbridge_listener, "EventBridge endpoint")?;

        let auth0 = match auth0_listener {
            Some(listener) => {
                let settings = Auth0Settings {
                    domain: "auth0-sandbox.localhost".into(),
                    client_id: "local-m2m-client".into(),
                    client_secret: "local-m2m-client-secret".into(),
                };
                let sandbox = Auth0Sandbox::new(settings, &options.auth0_seed, outbox.clone())?;
                sandbox.set_logs_sce(options.auth0_logs_sce);
                sandbox.set_enterprise(options.auth0_enterprise);
                sandbox.rate().set_limit(options.rate_limits.auth0);
                start(listener, &sandbox)?;
                Some(sandbox)
            }
            None => None,
        };
        let bloomreach = match bloomreach_listener {
            Some(listener) => {
                let settings = BloomreachSettings {
                    project_token: "local-project".into(),
                    key_id: "local-api-key-id".into(),
                    key_secret: "local-api-secret".into(),
                    templates: auth0_events::EmailKind::ALL
                        .into_iter()
                        .map(sandboxes::template_id)
                        .collect(),
                };
                let sandbox = BloomreachSandbox::new(settings, outbox.clone());
                sandbox.rate().set_limit(options.rate_limits.bloomreach);
                start(listener, &sandbox)?;
                Some(sandbox)
            }
            None => None,
        };
        let hybris = match hybris_listener {
            Some(listener) => {
                let settings = HybrisSettings {
                    client_id: "local-hybris-client".into(),
                    client_secret: "local-hybris-secret".into(),
                    base_site: String::new(),
                };
                let sandbox = HybrisSandbox::new(settings, &options.hybris_seed, outbox.clone())?;
                sandbox.rate().set_limit(options.rate_limits.hybris);
                start(listener, &sandbox)?;
                Some(sandbox)
            }
            None => None,
        };

        let router = EventRouter::new(&topology, &[EMAIL_BUS, AUTH0_PARTNER_BUS])?;
        // The API's origin is one the card preview calls from (same-origin mode).
        let api_url = api_listener
            .as_ref()
            .map(|l| url_of(l, "API Gateway"))
            .transpose()?;
        let dixa = DixaSecrets::generate(api_url.as_deref());
        let env = FunctionEnv {
            eventbridge_url: eventbridge_url.clone(),
            sandboxes: sandboxes.clone(),
            process: options.env.clone(),
            template: topology
                .functions
                .iter()
                .map(|(binary, f)| (binary.clone(), f.environment.clone()))
                .collect(),
            extra: {
                let mut extra = crate::runner::api::dixa_env(&dixa);
                // The email history's key, as Secrets Manager holds it in production: made at
                // start-up, like the Dixa secrets (the history lasts while the system runs).
                extra.push((
                    "EMAIL_HISTORY_KEY".to_owned(),
                    sandboxes::text::random_hex(32),
                ));
                extra
            },
            per_function: options.function_env.clone(),
            memory: MemoryStores::default(),
            clock: Clock::default(),
        };
        let queues = Queues::default();
        for f in topology.functions.values() {
            let source = f.queue_source.as_ref();
            let dead_letter = source.and_then(|q| q.dead_letter.as_ref()).map(|(q, _)| q);
            for q in [source.map(|q| &q.queue), dead_letter, f.on_failure.as_ref()]
                .into_iter()
                .flatten()
            {
                queues.declare(q);
            }
        }
        let reserved = topology
            .functions
            .iter()
            .filter_map(|(binary, f)| {
                let n = usize::try_from(f.reserved_concurrency?).ok()?;
                Some((binary.clone(), Arc::new(tokio::sync::Semaphore::new(n))))
            })
            .collect();
        let shared = Arc::new(Shared {
            topology,
            router,
            tracker: tracker.clone(),
            pools: Pools::default(),
            env,
            queues,
            reserved,
            time_scale: options.time_scale,
        });
        // The event source mappings.
        for (binary, f) in &shared.topology.functions {
            if let Some(source) = &f.queue_source {
                servers.push(tokio::spawn(Arc::clone(&shared).poll(
                    binary.clone(),
                    source.clone(),
                    stop_rx.clone(),
                )));
            }
        }
        if let Some(sandbox) = &auth0 {
            let shared = Arc::clone(&shared);
            sandbox.set_log_stream(Arc::new(move |caller: Option<String>, envelope: Value| {
                let origin = caller.and_then(|c| shared.tracker.current(&c));
                shared.deliver(
                    AUTH0_PARTNER_BUS,
                    envelope,
                    origin.as_ref().map(|o| o.trace.clone()),
                    origin.as_ref().map(|o| o.request_id.clone()),
                    Some("the Auth0 log stream".into()),
                );
            }));
        }
        servers.push(serve(
            eventbridge_listener,
            eventbridge_router(Arc::clone(&shared)),
            tracker.clone(),
            None,
            stop_rx.clone(),
        ));
        let api = if let (Some(listener), Some(url)) = (api_listener, api_url) {
            let preview = crate::dixa_card::Preview {
                api: url.clone(),
                lookup_header: dixa.lookup_header.clone(),
                lookup_secret: dixa.lookup_secret.clone(),
                card: options.card.clone(),
                http: lambda_support::http::client_builder()
                    .build()
                    .map_err(LocalError::HttpClient)?,
            };
            servers.push(serve(
                listener,
                crate::runner::api::router(Arc::clone(&shared), preview),
                tracker.clone(),
                None,
                stop_rx.clone(),
            ));
            Some(url)
        } else {
            None
        };
        let endpoints = Endpoints {
            hops: format!("{eventbridge_url}/_local/hops"),
            eventbridge: eventbridge_url,
            api,
            auth0: url_of_sandbox(&sandboxes, Auth0Sandbox::NAME),
            bloomreach: url_of_sandbox(&sandboxes, BloomreachSandbox::NAME),
            hybris: url_of_sandbox(&sandboxes, HybrisSandbox::NAME),
        };
        Ok(Self {
            shared,
            endpoints,
            dixa,
            outbox,
            auth0,
            bloomreach,
            hybris,
            stop,
            servers,
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn dixa_secrets(&self) -> &DixaSecrets {
        &self.dixa
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn auth0(&self) -> Option<&Auth0Sandbox> {
        self.auth0.as_ref()
    }

    pub fn bloomreach(&self) -> Option<&BloomreachSandbox> {
        self.bloomreach.as_ref()
    }

    pub fn hybris(&self) -> Option<&HybrisSandbox> {
        self.hybris.as_ref()
    }

    /// The functions' stores (send-email's dedupe record, ...), shared by every container.
    pub fn memory(&self) -> &MemoryStores {
        &self.shared.env.memory
    }

    /// The functions' clock: a test moves it instead of sleeping.
    pub fn clock(&self) -> &Clock {
        &self.shared.env.clock
    }

    pub fn hops(&self) -> &Hops {
        &self.shared.tracker.hops
    }

    pub fn topology(&self) -> &Topology {
        &self.shared.topology
    }

    /// The bus names that exist (`default`, `email`, the Auth0 partner bus).
    pub fn buses(&self) -> Vec<String> {
        self.shared.router.bus_names()
    }

    /// The queues, with what waits in them.
    pub fn queues(&self) -> Vec<QueueView> {
        self.shared.queues.list()
    }

    /// Redrives a dead-letter or OnFailure queue (see [`Shared::redrive`]).
    pub fn redrive(&self, queue: &str) -> Option<usize> {
        self.shared.redrive(queue)
    }

    /// Waits until no invocation of these traces (all when empty) is running.
    pub async fn settle(&self, traces: &[String], within: Duration) -> Result<(), LocalError> {
        let until = tokio::time::Instant::now() + within;
        loop {
            if self.hops().in_flight(traces) == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() > until {
                return Err(LocalError::StillRunning(within));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What `up` writes to `.local/state.json` for `send` and for people (this process is
    /// the one that runs the system).
    pub fn state_file(&self) -> StateFile {
        StateFile {
            pid: std::process::id(),
            endpoints: self.endpoints.clone(),
            buses: Buses {
                email: EMAIL_BUS.to_owned(),
                auth0_partner: AUTH0_PARTNER_BUS.to_owned(),
            },
            outbox: self.outbox.dir().to_path_buf(),
            dixa: self.dixa.clone(),
        }
    }

    /// Stops the servers and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for server in self.servers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
        }
    }
}

impl Drop for LocalSystem {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn eventbridge_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", post(put_events))
        .route("/_local/hops", get(hops))
        .route("/_local/queues", get(list_queues))
        .route("/_local/queues/{queue}/redrive", post(redrive_queue))
        .with_state(shared)
}

async fn list_queues(State(shared): State<Arc<Shared>>) -> Json<Vec<QueueView>> {
    Json(shared.queues.list())
}

/// `POST /_local/queues/<queue>/redrive`: `{"redriven": n}`, or 404 for a queue that is
/// neither a dead-letter nor an OnFailure queue.
async fn redrive_queue(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(queue): axum::extract::Path<String>,
) -> Response {
    match shared.redrive(&queue) {
        Some(n) => Json(json!({"queue": queue, "redriven": n})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": format!("{queue} is not a dead-letter or OnFailure queue of the template")})),
        )
            .into_response(),
    }
}

const AMZ_JSON: &str = "application/x-amz-json-1.1";

fn amz_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, AMZ_JSON),
            (header::HeaderName::from_static("x-amzn-errortype"), kind),
        ],
        Json(eventbridge::error_body(kind, message)),
    )
        .into_response()
}

async fn put_events(
    State(shared): State<Arc<Shared>>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target != "AWSEvents.PutEvents" {
        return amz_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "The local AWS endpoint supports EventBridge PutEvents only (the functions' stores are in memory)",
        );
    }
    let origin = caller.and_then(|c| shared.tracker.current(&c.0.0));
    let results = match eventbridge::put_events(&shared.router, &body) {
        Ok(results) => results,
        Err((status, kind, message)) => {
            return amz_error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                kind,
                &message,
            );
        }
    };
    let mut failed = 0;
    let mut entries = Vec::new();
    for result in results {
        match result {
            Ok(accepted) => {
                let id = shared.deliver(
                    &accepted.bus,
                    accepted.envelope,
                    origin.as_ref().map(|o| o.trace.clone()),
                    origin.as_ref().map(|o| o.request_id.clone()),
                    origin.as_ref().map(|o| o.function.clone()),
                );
                entries.push(json!({ "EventId": id }));
            }
            Err(refused) => {
                failed += 1;
                shared.tracker.hops.push(NewHop {
                    trace: origin.as_ref().map_or_else(
                        || format!("refused-{}", uuid::Uuid::new_v4()),
                        |o| o.trace.clone(),
                    ),
                    parent: origin.as_ref().map(|o| o.request_id.clone()),
                    id: None,
                    what: What::EventRejected {
                        bus: refused.bus,
                        error_code: refused.code.to_owned(),
                        error_message: refused.message.clone(),
                        from: origin.as_ref().map(|o| o.function.clone()),
                    },
                });
                entries.push(json!({"ErrorCode": refused.code, "ErrorMessage": refused.message}));
            }
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, AMZ_JSON)],
        Json(json!({"FailedEntryCount": failed, "Entries": entries})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct HopsQuery {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    trace: Option<String>,
}

async fn hops(State(shared): State<Arc<Shared>>, Query(q): Query<HopsQuery>) -> Json<HopsPage> {
    let traces: Vec<String> = q
        .trace
        .map(|t| {
            t.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Json(shared.tracker.hops.page(q.after, &traces))
}
