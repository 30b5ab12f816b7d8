//! Small helpers: random tokens, timestamps, redaction, HTML escaping.

use percent_encoding::percent_decode_str;
use rand::RngCore;
use std::time::{SystemTime, UNIX_EPOCH};

/// `n` random bytes, hex-encoded (2n characters).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

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

/// `s` for HTML text and attribute values, escaped as Jinja2's markupsafe escapes (`&<>"'`) by
/// minijinja's escaper. That one also escapes `/`, which is undone so that links read as
/// Bloomreach's Jinja writes them: every `&` of `s` comes out as `&amp;`, so `&#x2f;` in its
/// output only ever stands for a `/`.
pub fn html_escape(s: &str) -> String {
    minijinja::HtmlEscape(s).to_string().replace("&#x2f;", "/")
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

    #[test]
    fn escapes_for_text_and_attributes_but_keeps_slashes() {
        assert_eq!(
            html_escape(r#"<a href="https://x/&#x2f;">'&'</a>"#),
            "&lt;a href=&quot;https://x/&amp;#x2f;&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn random_hex_is_hex_of_n_bytes() {
        let token = random_hex(16);
        assert_eq!(token.len(), 32);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(token, random_hex(16));
    }
}
