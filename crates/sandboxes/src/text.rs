//! Small text helpers of the sandboxes: random tokens, HTML escaping, file names.

use rand::RngCore;

/// `n` random bytes, hex-encoded (2n characters).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
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
