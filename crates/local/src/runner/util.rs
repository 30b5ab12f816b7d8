//! Small helpers of the runner: timestamps and redaction of printed paths.

use percent_encoding::percent_decode_str;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A request path and query as it may be printed: every path segment or query value that holds
/// an email address (`@`, encoded or not) becomes `<address>`.
pub fn redact_path(path_and_query: &str) -> String {
    let is_address = |part: &str| percent_decode_str(part).decode_utf8_lossy().contains('@');
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let path: Vec<&str> = path
        .split('/')
        .map(|seg| if is_address(seg) { "<address>" } else { seg })
        .collect();
    let mut out = path.join("/");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if is_address(v) => format!("{k}=<address>"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_addresses_in_paths_and_queries() {
        assert_eq!(
            redact_path("/api/v2/users-by-email?email=jane%2Bshop%40example.com&x=1"),
            "/api/v2/users-by-email?email=<address>&x=1"
        );
        assert_eq!(
            redact_path("/occ/v2/shop-uk/users/legacy.customer%40example.com?fields=BASIC"),
            "/occ/v2/shop-uk/users/<address>?fields=BASIC"
        );
        assert_eq!(
            redact_path("/api/v2/users/auth0%7Cabc"),
            "/api/v2/users/auth0%7Cabc"
        );
    }
}
