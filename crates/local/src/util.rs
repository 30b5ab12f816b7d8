//! Small helpers: ids, timestamps, redaction, HTML escaping.

use rand::RngCore;
use std::time::{SystemTime, UNIX_EPOCH};

/// A random UUID (version 4), as EventBridge event ids and Lambda request ids are.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `n` random bytes, hex-encoded (2n characters).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Epoch seconds → `2026-11-20T09:58:12Z` (EventBridge's `time` format).
pub fn iso8601(epoch_secs: i64) -> String {
    lambda_support::time::rfc3339(epoch_secs)
}

pub fn now_iso8601() -> String {
    iso8601((now_ms() / 1_000) as i64)
}

/// Percent-decodes `s` (`+` stays `+`); invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request path and query as it may be printed: every path segment or query value that holds
/// an email address (`@`, encoded or not) becomes `<address>`.
pub fn redact_path(path_and_query: &str) -> String {
    let is_address = |part: &str| percent_decode(part).contains('@');
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

/// `user@example.com` → `u***@example.com`, for printed lines.
pub fn mask_address(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "<address>".to_owned(),
    }
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A safe file-name part: letters, digits and `@._+-` kept, the rest `_`.
pub fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_seconds() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_795_168_692), "2026-11-20T09:58:12Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn uuids_look_like_uuids() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid_v4());
    }

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
        assert_eq!(mask_address("jane@example.com"), "j***@example.com");
    }
}
