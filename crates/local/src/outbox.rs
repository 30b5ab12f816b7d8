//! The outbox: every email a sandbox was asked to send, as a page a person can open
//! (`NNN-<kind>-<recipient>.html`) with the request JSON beside it (`.json`).

use crate::util::{file_part, html_escape};
use serde::Serialize;
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

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
    pub html: PathBuf,
    pub json: PathBuf,
}

/// An email to record: a title, labelled facts, and the request as it arrived.
pub struct Email<'a> {
    pub kind: &'a str,
    pub provider: &'a str,
    pub recipient: &'a str,
    pub title: &'a str,
    /// `(label, value)`; values that are URLs become links.
    pub facts: Vec<(String, String)>,
    /// Template params shown as a table, if any.
    pub params: Vec<(String, String)>,
    pub request: &'a Value,
}

#[derive(Clone)]
pub struct Outbox {
    dir: PathBuf,
    entries: Arc<Mutex<Vec<OutboxEntry>>>,
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
        Ok(Self {
            dir: dir.to_path_buf(),
            entries: Arc::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Writes the email's two files and returns the entry.
    pub fn record(&self, email: Email<'_>) -> std::io::Result<OutboxEntry> {
        // The number is taken and the files written under the lock: numbers follow file order.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let number = entries.len() as u32 + 1;
        let stem = format!(
            "{number:03}-{}-{}",
            file_part(email.kind),
            file_part(email.recipient)
        );
        let html = self.dir.join(format!("{stem}.html"));
        let json = self.dir.join(format!("{stem}.json"));
        std::fs::write(&html, render(&email))?;
        std::fs::write(
            &json,
            serde_json::to_string_pretty(email.request).unwrap_or_default(),
        )?;
        let entry = OutboxEntry {
            number,
            kind: email.kind.to_owned(),
            provider: email.provider.to_owned(),
            recipient: email.recipient.to_owned(),
            html,
            json,
        };
        entries.push(entry.clone());
        Ok(entry)
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

fn render(email: &Email<'_>) -> String {
    let request = serde_json::to_string_pretty(email.request).unwrap_or_default();
    let params = if email.params.is_empty() {
        String::new()
    } else {
        format!("<h2>Template parameters</h2>\n{}", table(&email.params))
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} to {to}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; color: #222; }}
h1 {{ font-size: 1.4rem; }} h2 {{ font-size: 1.1rem; margin-top: 2rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }}
th {{ width: 14rem; color: #555; font-weight: 600; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow-x: auto; }}
.note {{ color: #666; font-size: .9rem; }}
</style></head>
<body>
<p class="note">Recorded by the local {provider} sandbox: nothing was sent.</p>
<h1>{title}</h1>
{facts}{params}<h2>Request as received</h2>
<pre>{request}</pre>
</body></html>
"#,
        title = html_escape(email.title),
        to = html_escape(email.recipient),
        provider = html_escape(email.provider),
        facts = table(&email.facts),
        request = html_escape(&request),
    )
}
