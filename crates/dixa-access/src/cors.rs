//! CORS for the calls the card's JavaScript makes from the agent's browser.
//!
//! Only origins listed in `DIXA_ALLOWED_ORIGINS` get CORS headers, compared byte for byte with
//! the request's `Origin` (no wildcard, no suffix match). Allowed responses carry
//!
//! ```text
//! access-control-allow-origin: <the request's origin>
//! vary: origin
//! access-control-allow-methods: GET, POST, OPTIONS
//! access-control-allow-headers: content-type, authorization
//! access-control-max-age: 600
//! ```
//!
//! No `access-control-allow-credentials`: the card sends no cookies; its authority is the
//! action token in `Authorization`. CORS keeps other web pages from reading our responses in
//! a browser; it is not what authorises an action (a non-browser client ignores it).
//!
//! Origins in the setting are `https://host[:port]` (lower-cased when read), or `http://` only
//! for `localhost` / `127.0.0.1` (local runs).
//!
//! # `Origin: null`
//! Dixa renders cards in a sandboxed iframe; if that sandbox lacks `allow-same-origin`, the
//! browser sends `Origin: null` and only allowing `null` lets the card read responses. That is
//! a separate, explicit opt-in ([`Cors::allow_null_origin`], `DIXA_ALLOW_NULL_ORIGIN=true`),
//! never the default, and `null` is refused inside the origin list so it cannot slip in by a
//! copy-paste. Every sandboxed, `data:` or `file:` page shares that origin, so allowing it
//! means CORS no longer tells pages apart; what it then costs is small because CORS is not the
//! security boundary here: an action needs the bearer action token (signed, minutes long, one
//! account, its listed actions), which only the card holds, and no cookie or ambient
//! credential is ever accepted. Check the `Origin` the card actually sends (browser dev tools)
//! before opting in.

use crate::error::ApiError;
use lambda_http::{
    Body, Request, Response,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
};

const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
const ALLOW_HEADERS: &str = "content-type, authorization";
const MAX_AGE_S: &str = "600";

/// The browser origin a sandboxed iframe without `allow-same-origin` sends.
const NULL_ORIGIN: &str = "null";

/// The allow-list of exact origins, plus `null` only when opted in.
#[derive(Debug, Clone)]
pub struct Cors {
    allowed: Vec<HeaderValue>,
    null_allowed: bool,
}

/// An entry of the origin list that is not an exact origin; `index` counts from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOrigin {
    #[error("entry {index} is not an origin like https://host[:port]")]
    NotAnOrigin { index: usize },
    /// `null` belongs in its own opt-in setting, not the list.
    #[error("entry {index} is `null`: allow it with the separate opt-in, not in the list")]
    Null { index: usize },
}

impl Cors {
    /// Parses a comma-separated list of exact origins (see the module docs). An empty list
    /// is an error: the card's buttons could never work.
    pub fn from_list(list: &str) -> Result<Self, InvalidOrigin> {
        let mut allowed = Vec::new();
        for (i, entry) in list.split(',').enumerate() {
            let index = i + 1;
            let entry = entry.trim().to_ascii_lowercase();
            if entry == NULL_ORIGIN {
                return Err(InvalidOrigin::Null { index });
            }
            let value = valid_origin(&entry)
                .then(|| HeaderValue::from_str(&entry).ok())
                .flatten()
                .ok_or(InvalidOrigin::NotAnOrigin { index })?;
            allowed.push(value);
        }
        Ok(Self {
            allowed,
            null_allowed: false,
        })
    }

    /// Also admits `Origin: null` (see the module docs): the explicit opt-in.
    #[must_use]
    pub fn allow_null_origin(mut self) -> Self {
        self.null_allowed = true;
        self
    }

    /// Whether `Origin: null` is admitted.
    pub fn null_origin_allowed(&self) -> bool {
        self.null_allowed
    }

    /// Is this request `Origin` on the list (or `null` with the opt-in)?
    pub fn is_allowed(&self, request_origin: Option<&HeaderValue>) -> bool {
        request_origin.is_some_and(|origin| {
            self.allowed.iter().any(|a| a == origin)
                || (self.null_allowed && origin.as_bytes() == NULL_ORIGIN.as_bytes())
        })
    }

    /// The CORS headers for a request from `request_origin`, or `None` when that origin is
    /// absent or not allowed.
    pub fn cors_headers(&self, request_origin: Option<&HeaderValue>) -> Option<HeaderMap> {
        let origin = request_origin.filter(|_| self.is_allowed(request_origin))?;
        let mut headers = HeaderMap::with_capacity(5);
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_S),
        );
        Some(headers)
    }

    /// Adds the CORS headers for the request's origin to `response` (errors included, so the
    /// card can read the refusal), and `vary: origin` in every case.
    pub fn apply(&self, request_headers: &HeaderMap, response: &mut Response<Body>) {
        let headers = response.headers_mut();
        match self.cors_headers(request_headers.get(header::ORIGIN)) {
            Some(cors) => headers.extend(cors),
            None => {
                headers.insert(header::VARY, HeaderValue::from_static("origin"));
            }
        }
    }

    /// The answer to a preflight (`OPTIONS`): 204 with the CORS headers for an allowed
    /// origin, else 403 `forbidden` (JSON) without them.
    pub fn preflight(&self, request: &Request) -> Response<Body> {
        let requested_method_ok = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_none_or(|m| {
                [Method::GET, Method::POST, Method::OPTIONS]
                    .iter()
                    .any(|allowed| m.as_bytes() == allowed.as_str().as_bytes())
            });
        let cors = self
            .cors_headers(request.headers().get(header::ORIGIN))
            .filter(|_| requested_method_ok);
        match cors {
            Some(cors) => {
                let mut response = Response::new(Body::Empty);
                *response.status_mut() = StatusCode::NO_CONTENT;
                response.headers_mut().extend(cors);
                response
            }
            None => {
                let mut response = ApiError::Forbidden.to_response();
                response
                    .headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("origin"));
                response
            }
        }
    }
}

/// `https://host[:port]`, or `http://localhost[:port]` / `http://127.0.0.1[:port]`; no path,
/// query, user info or wildcard. `entry` is already lower-cased.
fn valid_origin(entry: &str) -> bool {
    let (host_port, local_only) = if let Some(rest) = entry.strip_prefix("https://") {
        (rest, false)
    } else if let Some(rest) = entry.strip_prefix("http://") {
        (rest, true)
    } else {
        return false;
    };
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_port, None),
    };
    let host_ok = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    let scheme_ok = !local_only || host == "localhost" || host == "127.0.0.1";
    host_ok && port_ok && scheme_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIXA: &str = "https://shop.dixa.com";

    fn cors() -> Cors {
        Cors::from_list("https://shop.dixa.com, https://Other.Dixa.com:8443").unwrap()
    }

    fn preflight_request(origin: Option<&str>, method: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("OPTIONS")
            .uri("https://api.example.com/dixa/users/auth0%7C1")
            .header("access-control-request-method", method);
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn allowed_origin_gets_the_headers() {
        let c = cors();
        let h = c
            .cors_headers(Some(&HeaderValue::from_static(DIXA)))
            .unwrap();
        assert_eq!(h["access-control-allow-origin"], DIXA);
        assert_eq!(h["vary"], "origin");
        assert_eq!(h["access-control-allow-methods"], "GET, POST, OPTIONS");
        assert_eq!(
            h["access-control-allow-headers"],
            "content-type, authorization"
        );
        assert_eq!(h["access-control-max-age"], "600");
        assert!(h.get("access-control-allow-credentials").is_none());
        assert_eq!(h.len(), 5);
        // Configured in mixed case, matched as browsers send it.
        let other = HeaderValue::from_static("https://other.dixa.com:8443");
        assert_eq!(
            c.cors_headers(Some(&other)).unwrap()["access-control-allow-origin"],
            "https://other.dixa.com:8443"
        );
    }

    #[test]
    fn other_origins_get_no_headers() {
        let c = cors();
        for origin in [
            "https://evil.example",
            "https://shop.dixa.com.evil.example",
            "https://evil-shop.dixa.com",
            "http://shop.dixa.com",
            "https://shop.dixa.com:443",
            "https://shop.dixa.com/",
            "null",
            "",
        ] {
            assert!(
                c.cors_headers(Some(&HeaderValue::from_str(origin).unwrap()))
                    .is_none(),
                "{origin}"
            );
        }
        assert!(c.cors_headers(None).is_none());
    }

    #[test]
    fn preflight_from_allowed_origin_is_204() {
        let response = cors().preflight(&preflight_request(Some(DIXA), "POST"));
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(response.headers()["access-control-allow-origin"], DIXA);
        assert_eq!(
            response.headers()["access-control-allow-methods"],
            "GET, POST, OPTIONS"
        );
        assert_eq!(response.headers()["access-control-max-age"], "600");
        assert!(matches!(response.body(), Body::Empty));
    }

    #[test]
    fn preflight_from_other_origin_is_403_json() {
        for request in [
            preflight_request(Some("https://evil.example"), "POST"),
            preflight_request(None, "POST"),
            preflight_request(Some(DIXA), "DELETE"),
        ] {
            let response = cors().preflight(&request);
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert!(
                response
                    .headers()
                    .get("access-control-allow-origin")
                    .is_none()
            );
            assert_eq!(response.headers()["content-type"], "application/json");
            assert_eq!(response.headers()["vary"], "origin");
            assert!(matches!(
                response.body(),
                Body::Text(t) if t.contains(r#""code":"forbidden""#)
            ));
        }
    }

    #[test]
    fn apply_adds_headers_to_any_response() {
        let c = cors();
        let mut request_headers = HeaderMap::new();
        request_headers.insert("origin", HeaderValue::from_static(DIXA));
        let mut response = ApiError::Forbidden.to_response();
        c.apply(&request_headers, &mut response);
        assert_eq!(response.headers()["access-control-allow-origin"], DIXA);

        request_headers.insert("origin", HeaderValue::from_static("https://evil.example"));
        let mut response = ApiError::Forbidden.to_response();
        c.apply(&request_headers, &mut response);
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        assert_eq!(response.headers()["vary"], "origin");
    }

    #[test]
    fn origin_list_accepts_exact_origins_only() {
        for good in [
            "https://shop.dixa.com",
            "https://a.b:8443,https://c.d",
            "http://localhost:3000",
            "http://127.0.0.1",
        ] {
            assert!(Cors::from_list(good).is_ok(), "{good}");
        }
        for (bad, index) in [
            ("", 1),
            ("*", 1),
            ("https://*.dixa.com", 1),
            ("https://shop.dixa.com,", 2),
            ("https://shop.dixa.com/", 1),
            ("https://a.b,https://shop.dixa.com/path", 2),
            ("shop.dixa.com", 1),
            ("http://shop.dixa.com", 1),
            ("https://user@shop.dixa.com", 1),
            ("https://shop.dixa.com:0", 1),
            ("https://shop.dixa.com:99999", 1),
        ] {
            assert_eq!(
                Cors::from_list(bad).unwrap_err(),
                InvalidOrigin::NotAnOrigin { index },
                "{bad}"
            );
        }
        // `null` has its own opt-in; in the list it is refused, whatever its case.
        for (bad, index) in [("null", 1), ("https://a.b, NULL", 2)] {
            let err = Cors::from_list(bad).unwrap_err();
            assert_eq!(err, InvalidOrigin::Null { index }, "{bad}");
            assert!(err.to_string().contains("opt-in"), "{err}");
        }
    }

    #[test]
    fn null_origin_only_with_the_opt_in() {
        let null = HeaderValue::from_static("null");
        assert!(!cors().null_origin_allowed());
        assert!(!cors().is_allowed(Some(&null)));
        assert!(cors().cors_headers(Some(&null)).is_none());
        let response = cors().preflight(&preflight_request(Some("null"), "POST"));
        assert_eq!(response.status(), StatusCode::FORBIDDEN);

        let opted_in = cors().allow_null_origin();
        assert!(opted_in.null_origin_allowed());
        let h = opted_in.cors_headers(Some(&null)).unwrap();
        assert_eq!(h["access-control-allow-origin"], "null");
        assert!(h.get("access-control-allow-credentials").is_none());
        let response = opted_in.preflight(&preflight_request(Some("null"), "POST"));
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(response.headers()["access-control-allow-origin"], "null");
        // The listed origins still work; others still do not, and neither does a look-alike.
        assert!(opted_in.is_allowed(Some(&HeaderValue::from_static(DIXA))));
        for other in ["https://evil.example", "NULL", "null ", "nul"] {
            assert!(
                !opted_in.is_allowed(Some(&HeaderValue::from_str(other).unwrap())),
                "{other}"
            );
        }
        assert!(!opted_in.is_allowed(None));
    }
}
