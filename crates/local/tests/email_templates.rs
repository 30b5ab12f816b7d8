//! The starter templates in `templates/email/` against what send-email really sends.
//!
//! The params come from send-email's own request builder (`handler::compose`, which fills them
//! from `send_email::params::Param::for_kind`), never from a copy: renaming a parameter there
//! without the templates fails these tests.

use auth0_events::{
    EmailAddress, EmailKind, LogId, LogType,
    send_email::{SendEmailDetail, TemplateParams},
};
use local::sandbox::templates::{self, Rendered};
use send_email::{
    config::{MessageConfig, Template, Templates},
    handler::compose,
    params::{Param, Presence},
};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

const RESET: &str = "https://shop.example/account/reset-password";
const SUPPORT: &str = "https://help.shop.example/contact";
const OLD: &str = "old.address@example.com";
const NEW: &str = "new.address@example.org";

fn message(links: bool) -> MessageConfig {
    let t = |kind: EmailKind| Template {
        template_id: format!("tpl-{}", kind.as_str()),
        campaign_name: format!("security-{}", kind.as_str()),
    };
    MessageConfig {
        templates: Templates {
            account_blocked: t(EmailKind::AccountBlocked),
            password_changed: t(EmailKind::PasswordChanged),
            email_changed_old_address: t(EmailKind::EmailChangedOldAddress),
            email_changed_new_address: t(EmailKind::EmailChangedNewAddress),
        },
        customer_id_key: "registered".into(),
        language: Some("en".into()),
        sender_address: Some("security@shop.example".into()),
        sender_name: Some("Shop".into()),
        integration_id: None,
        reset_password_url: links.then(|| RESET.into()),
        support_url: links.then(|| SUPPORT.into()),
    }
}

/// The recipient and log type email-transform would use for a kind.
fn recipient_and_log(kind: EmailKind) -> (&'static str, LogType) {
    match kind {
        EmailKind::AccountBlocked => ("jane.doe@example.com", LogType::LimitWc),
        EmailKind::PasswordChanged => ("maria.rossi@example.com", LogType::Scp),
        EmailKind::EmailChangedOldAddress => (OLD, LogType::Sce),
        EmailKind::EmailChangedNewAddress => (NEW, LogType::Sce),
    }
}

fn detail(kind: EmailKind, log_type: LogType, facts: bool) -> SendEmailDetail {
    let (recipient, _) = recipient_and_log(kind);
    let new = EmailAddress::parse(NEW).unwrap();
    SendEmailDetail::new(
        kind,
        EmailAddress::parse(recipient).unwrap(),
        TemplateParams {
            occurred_at: facts.then(|| "2026-11-20T09:58:11.043Z".into()),
            // email-transform sets it on the old-address email only; send-email must keep it there.
            new_email_masked: facts.then(|| new.masked()),
        },
        &LogId::parse("90020261120095811043000000000000006").unwrap(),
        log_type,
    )
}

/// `email_content.params` exactly as send-email builds them.
fn sent_params(kind: EmailKind, log_type: LogType, facts: bool, links: bool) -> Map<String, Value> {
    let message = message(links);
    let detail = detail(kind, log_type, facts);
    let email = compose(&message, &detail).unwrap();
    email.email_content.params
}

fn render(kind: EmailKind, params: &Map<String, Value>) -> Result<Rendered, String> {
    templates::render_security(templates::shared(), kind, &Value::Object(params.clone()))
        .map_err(|e| e.to_string())
}

fn names(list: impl IntoIterator<Item = Param>) -> BTreeSet<String> {
    list.into_iter().map(|p| p.name().to_owned()).collect()
}

#[test]
fn every_parameter_used_is_sent_and_every_one_sent_is_used_or_declared_ignored() {
    let env = templates::shared();
    for kind in EmailKind::ALL {
        let sent = names(Param::for_kind(kind));
        let used = templates::used_params(env, kind);
        let ignored = templates::declared_ignored(kind);
        assert!(
            !used.is_empty(),
            "{kind:?}: the template reads no params at all?"
        );
        for p in &used {
            assert!(
                sent.contains(p),
                "{kind:?}: the template uses params.{p}, which send-email does not send for this kind (it sends {sent:?})"
            );
        }
        for p in &ignored {
            assert!(
                sent.contains(p) && !used.contains(p),
                "{kind:?}: `ignores: {p}` names a parameter that is not sent, or is used after all"
            );
        }
        for p in &sent {
            assert!(
                used.contains(p) || ignored.contains(p),
                "{kind:?}: send-email sends {p}; use it in templates/email/{}.html or list it on its `ignores:` line",
                kind.as_str()
            );
        }
        // The request builder sends exactly that list when every fact and link is there.
        let full = sent_params(kind, recipient_and_log(kind).1, true, true);
        let keys: BTreeSet<String> = full.keys().cloned().collect();
        assert_eq!(keys, sent, "{kind:?}");
    }
}

#[test]
fn every_kind_renders_with_all_and_with_only_the_required_parameters() {
    for kind in EmailKind::ALL {
        let log = recipient_and_log(kind).1;
        for (facts, links) in [(true, true), (false, false), (true, false), (false, true)] {
            let params = sent_params(kind, log.clone(), facts, links);
            let r = render(kind, &params)
                .unwrap_or_else(|e| panic!("{kind:?} facts={facts} links={links}: {e}"));
            assert!(!r.subject.is_empty() && r.html.contains("<h1"), "{kind:?}");
        }
    }
}

#[test]
fn strict_undefined_fails_on_a_missing_or_renamed_required_parameter() {
    for kind in EmailKind::ALL {
        let full = sent_params(kind, recipient_and_log(kind).1, true, true);
        let used = templates::used_params(templates::shared(), kind);
        for p in Param::for_kind(kind) {
            let mut without = full.clone();
            let value = without.remove(p.name()).unwrap();
            let result = render(kind, &without);
            match p.presence() {
                // Sent every time: a template may rely on it, and its absence must not pass silently.
                Presence::Always if used.contains(p.name()) => {
                    assert!(result.is_err(), "{kind:?} rendered without {}", p.name());
                    // A rename on send-email's side is the same as a missing one.
                    without.insert(format!("{}_renamed", p.name()), value);
                    assert!(
                        render(kind, &without).is_err(),
                        "{kind:?}: renamed {}",
                        p.name()
                    );
                }
                // Sometimes absent: the template must cope.
                _ => {
                    result.unwrap_or_else(|e| panic!("{kind:?} without {}: {e}", p.name()));
                }
            }
        }
    }
}

/// Every email of every kind the tests can produce, with its recipient.
fn every_rendering() -> Vec<(EmailKind, &'static str, Map<String, Value>, Rendered)> {
    let mut out = Vec::new();
    for kind in EmailKind::ALL {
        let (recipient, log) = recipient_and_log(kind);
        let logs = if kind == EmailKind::AccountBlocked {
            vec![LogType::LimitWc, LogType::LimitSul, LogType::LimitMu]
        } else {
            vec![log]
        };
        for log in logs {
            for (facts, links) in [(true, true), (false, false)] {
                let params = sent_params(kind, log.clone(), facts, links);
                let r = render(kind, &params).unwrap();
                out.push((kind, recipient, params, r));
            }
        }
    }
    out
}

/// `href="..."`/`src="..."` values and bare `http(s)://` URLs in the text.
fn urls(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["href=\"", "src=\"", "href='", "src='"] {
        let quote = &attr[attr.len() - 1..];
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            found.push(rest[..rest.find(quote).unwrap_or(rest.len())].to_owned());
        }
    }
    for scheme in ["http://", "https://"] {
        for (i, _) in html.match_indices(scheme) {
            let rest = &html[i..];
            let end = rest
                .find(|c: char| c.is_whitespace() || "<>\"'".contains(c))
                .unwrap_or(rest.len());
            found.push(rest[..end].to_owned());
        }
    }
    found
}

fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#', ':']).next().unwrap_or(rest))
}

/// Anything shaped like an email address.
fn addresses(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || "<>\"'();,".contains(c))
        .filter(|w| {
            w.split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        })
        .map(|w| w.trim_end_matches(['.', ':']).to_owned())
        .collect()
}

#[test]
fn content_rules_hold_for_every_rendered_email() {
    let allowed_hosts: BTreeSet<&str> = [RESET, SUPPORT].iter().filter_map(|u| host(u)).collect();
    for (kind, recipient, params, r) in every_rendering() {
        let all = format!("{}\n{}", r.subject, r.html);
        let what = format!("{kind:?} with {:?}", params.keys().collect::<Vec<_>>());

        // The old address is told where the email went, masked, never the whole new address.
        if kind == EmailKind::EmailChangedOldAddress {
            assert!(!all.contains(NEW) && !all.contains("new.address"), "{what}");
            if params.contains_key("new_email_masked") {
                assert!(
                    all.contains("n***@example.org"),
                    "{what}: masked address shown"
                );
            }
        }
        // Links only to the configured URLs' hosts: no tracking, no other site, no mailto.
        for url in urls(&r.html) {
            assert!(
                host(&url).is_some_and(|h| allowed_hosts.contains(h)),
                "{what}: link or resource {url:?} is not on a configured host"
            );
        }
        for link in ["reset_password_url", "support_url"] {
            if let Some(url) = params.get(link).and_then(Value::as_str) {
                let used = templates::used_params(templates::shared(), kind).contains(link);
                assert_eq!(
                    r.html.contains(url),
                    used,
                    "{what}: {link} shown iff the template uses it"
                );
            }
        }
        // Readable without images: none at all, remote or not.
        assert!(
            !r.html.to_ascii_lowercase().contains("<img"),
            "{what}: an <img>"
        );
        // No address but the recipient's and the masked new one.
        let masked = params.get("new_email_masked").and_then(Value::as_str);
        for a in addresses(&all) {
            assert!(
                a == recipient || Some(a.as_str()) == masked,
                "{what}: address {a} in the email"
            );
        }
        // When it happened, in words, with the time zone said.
        if params.contains_key("occurred_at") {
            assert!(all.contains("20 November 2026 at 09:58 UTC"), "{what}");
        }
        // Self-contained: no stylesheet or script to fetch.
        for needle in ["<link", "<script", "@import", "url("] {
            assert!(!r.html.contains(needle), "{what}: {needle}");
        }
    }
}

#[test]
fn account_blocked_wording_follows_the_block_type() {
    let wording = |log: LogType| {
        let params = sent_params(EmailKind::AccountBlocked, log, true, true);
        render(EmailKind::AccountBlocked, &params).unwrap().html
    };
    let wc = wording(LogType::LimitWc);
    let sul = wording(LogType::LimitSul);
    let mu = wording(LogType::LimitMu);
    assert!(wc.contains("wrong password"), "{wc}");
    assert!(sul.contains("in a short time"), "{sul}");
    assert!(mu.contains("many different accounts"), "{mu}");
    for html in [&wc, &sul, &mu] {
        assert!(html.contains("How to unblock your account") && html.contains(RESET));
    }
}
