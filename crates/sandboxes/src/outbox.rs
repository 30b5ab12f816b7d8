//! The outbox: every email a sandbox was asked to send, as the customer would read it.
//!
//! Per email: `NNN-<kind>-<recipient>.html` (the envelope: from, to, subject, date; the email
//! itself; the request metadata in a collapsed section) and the request as received,
//! `NNN-<kind>-<recipient>.json`. `index.html` lists them newest first and is rewritten on every
//! email.

use crate::{
    templates::Rendered,
    text::{file_part, html_escape},
};
use lambda_support::time::now_rfc3339;
use serde::Serialize;
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

pub const INDEX: &str = "index.html";

/// One recorded email.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutboxEntry {
    pub number: u32,
    /// `account_blocked`, `email_changed_old_address`, ... for Bloomreach; `hybris_password_reset`,
    /// `auth0_password_reset`, `auth0_verify_email` for the others.
    pub kind: String,
    /// Which sandbox sent it: `bloomreach`, `hybris`, `auth0`.
    pub provider: String,
    pub recipient: String,
    pub subject: String,
    /// ISO 8601 UTC.
    pub recorded_at: String,
    pub html: PathBuf,
    pub json: PathBuf,
}

/// An email to record: the rendered email, who it is from, and the request metadata.
pub struct Email<'a> {
    pub kind: &'a str,
    pub provider: &'a str,
    pub recipient: &'a str,
    /// As a mail client shows it, e.g. `Shop <security@shop.example>`.
    pub from: String,
    pub email: Rendered,
    /// `(label, value)` about the request; values that are URLs become links.
    pub facts: Vec<(String, String)>,
    /// Template params as sent, if any.
    pub params: Vec<(String, String)>,
    pub request: &'a Value,
}

#[derive(Clone)]
pub struct Outbox {
    dir: PathBuf,
    entries: Arc<Mutex<Vec<OutboxEntry>>>,
    /// The last number given out.
    numbered: Arc<AtomicU32>,
}

impl Outbox {
    /// Uses `dir`, emptied of earlier emails: one run, one outbox.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let ours = path.extension().is_some_and(|x| x == "html" || x == "json");
            if ours && path.is_file() {
                std::fs::remove_file(&path)?;
            }
        }
        let outbox = Self {
            dir: dir.to_path_buf(),
            entries: Arc::default(),
            numbered: Arc::default(),
        };
        std::fs::write(outbox.index(), index(&[]))?;
        Ok(outbox)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index page, newest first.
    pub fn index(&self) -> PathBuf {
        self.dir.join(INDEX)
    }

    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Writes the email's two files, rewrites the index, and returns the entry. The pages are
    /// composed here; the files are written on a blocking thread, never on the server's.
    pub async fn record(&self, email: Email<'_>) -> std::io::Result<OutboxEntry> {
        let number = self.numbered.fetch_add(1, Ordering::Relaxed) + 1;
        let stem = format!(
            "{number:03}-{}-{}",
            file_part(email.kind),
            file_part(email.recipient)
        );
        let entry = OutboxEntry {
            number,
            kind: email.kind.to_owned(),
            provider: email.provider.to_owned(),
            recipient: email.recipient.to_owned(),
            subject: email.email.subject.clone(),
            recorded_at: now_rfc3339(),
            html: self.dir.join(format!("{stem}.html")),
            json: self.dir.join(format!("{stem}.json")),
        };
        let html = page(&entry, &email);
        let json = serde_json::to_string_pretty(email.request).unwrap_or_default();
        let outbox = self.clone();
        let written = entry.clone();
        tokio::task::spawn_blocking(move || outbox.write(written, &html, &json))
            .await
            .map_err(std::io::Error::other)??;
        Ok(entry)
    }

    fn write(&self, entry: OutboxEntry, html: &str, json: &str) -> std::io::Result<()> {
        std::fs::write(&entry.html, html)?;
        std::fs::write(&entry.json, json)?;
        // The index is rewritten under the lock, in number order, whatever order the files of
        // emails recorded at the same time were written in.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.push(entry);
        entries.sort_by_key(|e| e.number);
        std::fs::write(self.index(), index(&entries))
    }
}

fn cell(value: &str) -> String {
    if value.starts_with("https://") || value.starts_with("http://") {
        let v = html_escape(value);
        format!("<a href=\"{v}\">{v}</a>")
    } else {
        html_escape(value)
    }
}

fn table(rows: &[(String, String)]) -> String {
    let mut s = String::from("<table>\n");
    for (k, v) in rows {
        s.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            html_escape(k),
            cell(v)
        ));
    }
    s.push_str("</table>\n");
    s
}

/// The inside of the email's `<body>` and that element's own attributes, so the email can sit
/// inside the outbox page with its inline styles intact. A document without a body is used whole.
fn body_of(document: &str) -> (&str, &str) {
    let lower = document.to_ascii_lowercase();
    let Some(open) = lower.find("<body") else {
        return ("", document);
    };
    let Some(open_end) = lower[open..].find('>').map(|i| open + i) else {
        return ("", document);
    };
    let close = lower.rfind("</body>").unwrap_or(document.len());
    if close < open_end {
        return ("", document);
    }
    (
        document[open + "<body".len()..open_end].trim(),
        &document[open_end + 1..close],
    )
}

const STYLE: &str = r#"
body { margin: 0; font-family: system-ui, sans-serif; color: #222; background: #f3f3f3; }
.bar { background: #fff; border-bottom: 1px solid #ddd; padding: .75rem 1rem; }
.bar .note { margin: 0 0 .5rem 0; color: #666; font-size: .85rem; }
.bar a { color: #0a58ca; }
.envelope { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; font-size: .95rem; }
.envelope dt { color: #666; }
.envelope dd { margin: 0; overflow-wrap: anywhere; }
.envelope .subject { font-weight: 600; }
.message { max-width: 46rem; margin: 1rem auto; background: #fff; border: 1px solid #ddd; }
details { max-width: 46rem; margin: 1rem auto 2rem; padding: 0 1rem; font-size: .9rem; }
summary { cursor: pointer; color: #444; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; overflow-wrap: anywhere; }
th { width: 12rem; color: #555; font-weight: 600; }
pre { background: #fff; border: 1px solid #ddd; padding: .75rem; overflow-x: auto; }
@media (max-width: 30rem) { .message { margin: .5rem 0; border-left: 0; border-right: 0; } th { width: 7rem; } }
"#;

fn page(entry: &OutboxEntry, email: &Email<'_>) -> String {
    let request = serde_json::to_string_pretty(email.request).unwrap_or_default();
    let params = if email.params.is_empty() {
        String::new()
    } else {
        format!("<h3>Template parameters</h3>\n{}", table(&email.params))
    };
    let (body_attrs, body) = body_of(&email.email.html);
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{subject}</title>
<style>{STYLE}</style></head>
<body>
<div class="bar">
<p class="note"><a href="{INDEX}">Outbox</a> · recorded by the local {provider} sandbox: nothing was sent.</p>
<dl class="envelope">
<dt>From</dt><dd>{from}</dd>
<dt>To</dt><dd>{to}</dd>
<dt>Date</dt><dd>{date}</dd>
<dt>Subject</dt><dd class="subject">{subject}</dd>
</dl>
</div>
<div class="message"><div {body_attrs}>{body}</div></div>
<details>
<summary>Request metadata</summary>
{facts}{params}<h3>Request as received</h3>
<pre>{request}</pre>
</details>
</body></html>
"#,
        subject = html_escape(&entry.subject),
        provider = html_escape(&entry.provider),
        from = html_escape(&email.from),
        to = html_escape(&entry.recipient),
        date = html_escape(&entry.recorded_at),
        facts = table(&email.facts),
        request = html_escape(&request),
    )
}

fn index(entries: &[OutboxEntry]) -> String {
    let mut rows = String::new();
    for e in entries.iter().rev() {
        let file = e
            .html
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td>{time}</td><td>{kind}</td><td>{to}</td><td><a href=\"{file}\">{subject}</a></td></tr>\n",
            time = html_escape(&e.recorded_at),
            kind = html_escape(&e.kind),
            to = html_escape(&e.recipient),
            file = html_escape(&file),
            subject = html_escape(&e.subject),
        ));
    }
    if entries.is_empty() {
        rows.push_str("<tr><td colspan=\"4\">No emails yet. Send an event: <code>cargo xtask send events/auth0/sce.json</code>, then reload.</td></tr>\n");
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outbox ({count})</title>
<style>{STYLE}
.list {{ max-width: 60rem; margin: 1rem auto; padding: 0 1rem; }}
.list td, .list th {{ background: #fff; width: auto; }}
.list td:nth-child(-n+3) {{ white-space: nowrap; overflow-wrap: normal; }}
</style></head>
<body>
<div class="list">
<h1>Outbox</h1>
<p>Every email the local sandboxes were asked to send, newest first. Nothing was sent.</p>
<table>
<tr><th>Time (UTC)</th><th>Kind</th><th>To</th><th>Subject</th></tr>
{rows}</table>
</div>
</body></html>
"#,
        count = entries.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn email<'a>(request: &'a Value, subject: &str) -> Email<'a> {
        Email {
            kind: "password_changed",
            provider: "bloomreach",
            recipient: "jane@example.com",
            from: "Shop <security@shop.example>".into(),
            email: Rendered {
                subject: subject.into(),
                html: "<!DOCTYPE html><html><head><title>x</title></head><body style=\"margin:0\"><p>Hello &amp; bye</p></body></html>".into(),
            },
            facts: vec![("Template id".into(), "tpl-1".into())],
            params: vec![("support_url".into(), "https://shop.example/help".into())],
            request,
        }
    }

    #[tokio::test]
    async fn entries_are_readable_pages_and_the_index_lists_them_newest_first() {
        let dir = std::env::temp_dir().join(format!("outbox-test-{}", crate::text::random_hex(6)));
        let outbox = Outbox::create(&dir).unwrap();
        assert!(
            std::fs::read_to_string(outbox.index())
                .unwrap()
                .contains("No emails yet")
        );
        let request = json!({"email_content": {"template_id": "tpl-1"}});
        let first = outbox.record(email(&request, "First <one>")).await.unwrap();
        let second = outbox.record(email(&request, "Second")).await.unwrap();
        assert_eq!((first.number, second.number), (1, 2));

        let page = std::fs::read_to_string(&first.html).unwrap();
        for needle in [
            "<title>First &lt;one&gt;</title>",
            "<dd class=\"subject\">First &lt;one&gt;</dd>",
            "Shop &lt;security@shop.example&gt;",
            "<div style=\"margin:0\"><p>Hello &amp; bye</p></div>",
            "<summary>Request metadata</summary>",
            "<a href=\"https://shop.example/help\">",
        ] {
            assert!(page.contains(needle), "{needle} in {page}");
        }
        assert!(
            !page.contains("<head><title>x"),
            "only the email's body is embedded"
        );

        let index = std::fs::read_to_string(outbox.index()).unwrap();
        let at = |s: &str| index.find(s).unwrap();
        assert!(
            at("002-password_changed") < at("001-password_changed"),
            "{index}"
        );
        assert!(index.contains("First &lt;one&gt;") && index.contains("jane@example.com"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_document_without_a_body_is_embedded_whole() {
        assert_eq!(body_of("<p>hi</p>"), ("", "<p>hi</p>"));
        assert_eq!(
            body_of("<html><BODY class=a>x</BODY></html>"),
            ("class=a", "x")
        );
    }
}
