//! The one HTTP/TLS stack of a function: reqwest over rustls with the *ring* provider and the
//! Mozilla root certificates compiled in (`webpki-roots`), shared by the provider clients and,
//! through [`sdk_http_client`], by the AWS SDK clients.
//!
//! Why compiled-in roots: loading the system trust store opened and parsed ~146 certificate
//! files at every start-up, once per client. The compiled-in anchors are already parsed, cost
//! nothing at start-up, and are the same public roots the providers' and AWS's certificates chain
//! to. A private CA (none today) would have to be added here.

use aws_smithy_runtime_api::client::{
    http::{
        HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector, http_client_fn,
    },
    orchestrator::{HttpRequest, HttpResponse},
    result::ConnectorError,
};
use aws_smithy_types::body::SdkBody;
use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

/// How long the SDK waits for a TCP + TLS connection: the SDK's own default.
const SDK_CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The rustls configuration, built once per process on first use and shared by every client.
/// `None` only if the ring provider supported none of rustls's safe protocol versions.
fn tls_config() -> Option<rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Some(Arc::new(config))
    });
    // Cloning a ClientConfig copies a few Arcs.
    config.as_deref().cloned()
}

/// A reqwest builder on the shared TLS configuration: every client a function builds starts
/// here, so no client loads certificates of its own.
pub fn client_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match tls_config() {
        Some(config) => builder.tls_backend_preconfigured(config),
        // reqwest then fails `build()` with a TLS backend error: start-up stops, clearly.
        None => builder.tls_backend_preconfigured(()),
    }
}

/// An AWS SDK HTTP client on the same stack (one pool for every SDK client built from it).
pub fn sdk_http_client() -> Result<SharedHttpClient, reqwest::Error> {
    let client = client_builder()
        .connect_timeout(SDK_CONNECT_TIMEOUT)
        // The SDK signs and retries; a redirect would invalidate the signature.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    Ok(http_client_fn(move |_settings, _components| {
        SharedHttpConnector::new(Connector(client.clone()))
    }))
}

/// Sends one signed SDK request with reqwest. SDK request bodies here are in memory (JSON
/// protocols); a streaming body is refused rather than sent truncated.
#[derive(Debug, Clone)]
struct Connector(reqwest::Client);

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let Some(body) = request.body().bytes() else {
                return Err(ConnectorError::other(
                    "streaming request bodies are not supported".into(),
                    None,
                ));
            };
            let method = reqwest::Method::from_bytes(request.method().as_bytes())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let mut builder = client.request(method, request.uri()).body(body.to_vec());
            for (name, value) in request.headers() {
                builder = builder.header(name, value);
            }
            let response = builder.send().await.map_err(connector_error)?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.map_err(connector_error)?;
            let status =
                status
                    .try_into()
                    .map_err(|e: aws_smithy_runtime_api::http::HttpError| {
                        ConnectorError::other(e.into(), None)
                    })?;
            let mut out = HttpResponse::new(status, SdkBody::from(bytes));
            for (name, value) in &headers {
                if let Ok(value) = value.to_str() {
                    out.headers_mut()
                        .append(name.as_str().to_owned(), value.to_owned());
                }
            }
            Ok(out)
        })
    }
}

/// Timeouts and I/O failures are transient for the SDK's retry strategy; the rest is not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_configuration_carries_the_compiled_in_roots() {
        let config = tls_config().expect("ring supports TLS 1.2 and 1.3");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(client_builder().build().is_ok());
    }
}
