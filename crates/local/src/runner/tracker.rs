//! Which invocation a call belongs to, and serving a router on loopback.
//!
//! Every container (one warm instance of a function, as Lambda keeps them) gets its providers'
//! base URLs with a prefix `/_c/<container>`: the sandboxes and the EventBridge endpoint strip
//! it before routing and, because a container runs one invocation at a time (as in Lambda),
//! know exactly which invocation, function and trace made the call.

use crate::{
    runner::error::LocalError,
    runner::hops::{Hops, NewHop, What},
    runner::util::redact_path,
};
use axum::{
    Router,
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
pub use sandboxes::{Caller, Recorded};
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// The invocation a container is running.
#[derive(Debug, Clone)]
pub struct Current {
    pub trace: String,
    pub function: String,
    pub request_id: String,
}

#[derive(Clone, Default)]
pub struct Tracker {
    pub hops: Hops,
    running: Arc<Mutex<HashMap<String, Current>>>,
}

impl Tracker {
    pub fn new(hops: Hops) -> Self {
        Self {
            hops,
            running: Arc::default(),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Current>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn enter(&self, container: &str, current: Current) {
        self.running().insert(container.to_owned(), current);
    }

    pub fn leave(&self, container: &str) {
        self.running().remove(container);
    }

    pub fn current(&self, container: &str) -> Option<Current> {
        self.running().get(container).cloned()
    }
}

#[derive(Clone)]
struct Attribution {
    tracker: Tracker,
    /// `None`: do not record calls as provider calls (the EventBridge endpoint records events).
    provider: Option<&'static str>,
}

/// Strips `/_c/<container>`, then records the call against the container's invocation.
async fn attribute(State(a): State<Attribution>, mut req: Request, next: Next) -> Response {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
    let mut caller = None;
    let mut shown = path_and_query.clone();
    if let Some(rest) = path_and_query.strip_prefix("/_c/") {
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (container, tail) = rest.split_at(split);
        let tail = if tail.starts_with('/') {
            tail.to_owned()
        } else {
            format!("/{tail}")
        };
        if let Ok(uri) = tail.parse() {
            *req.uri_mut() = uri;
            shown = tail;
            caller = Some(container.to_owned());
            req.extensions_mut().insert(Caller(container.to_owned()));
        }
    }
    let method = req.method().to_string();
    let response = next.run(req).await;
    if let (Some(provider), Some(container)) = (a.provider, caller)
        && let Some(current) = a.tracker.current(&container)
    {
        let outbox = response
            .extensions()
            .get::<Recorded>()
            .map(|r| r.0.display().to_string());
        a.tracker.hops.push(NewHop {
            trace: current.trace,
            parent: Some(current.request_id),
            id: None,
            what: What::ProviderCall {
                function: current.function,
                provider: provider.to_owned(),
                method,
                path: redact_path(&shown),
                status: response.status().as_u16(),
                outbox,
            },
        });
    }
    response
}

/// A listener on `host:port` (0: any free port); `what` names it in the error.
pub async fn bind(
    host: std::net::IpAddr,
    port: u16,
    what: &'static str,
) -> Result<TcpListener, LocalError> {
    TcpListener::bind(SocketAddr::new(host, port))
        .await
        .map_err(|source| LocalError::Bind {
            what,
            host,
            port,
            source,
        })
}

/// Serves `router` until `shutdown` turns true; calls through `/_c/<container>` are attributed
/// (and recorded as `provider` calls when given).
pub fn serve(
    listener: TcpListener,
    router: Router,
    tracker: Tracker,
    provider: Option<&'static str>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    use axum::ServiceExt;
    use tower::Layer;
    let layer = axum::middleware::from_fn_with_state(Attribution { tracker, provider }, attribute);
    let service = layer.layer(router);
    tokio::spawn(async move {
        let _ = axum::serve(listener, service.into_make_service())
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await;
    })
}
