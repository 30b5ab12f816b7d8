//! The emails the sandboxes "send", rendered as the customer would see them.
//!
//! The four security emails are the starter templates in `templates/email/` (the same files an
//! operator pastes into Bloomreach), rendered with `minijinja` and strict undefined: a parameter
//! a template uses without `is defined` and the request lacks is an error, not a blank. The
//! context is `{"params": <email_content.params>}`, which is how a template addresses the
//! transactional API's params (README "Bloomreach templates"). The Auth0 and Hybris emails are
//! stand-ins for those providers' own emails, kept here (no one deploys them).

use auth0_events::EmailKind;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use std::collections::BTreeSet;

/// `(kind, subject template, body template)` of the four security emails.
const SECURITY: [(EmailKind, &str, &str); 4] = [
    (
        EmailKind::AccountBlocked,
        include_str!("../../../templates/email/account_blocked.subject.txt"),
        include_str!("../../../templates/email/account_blocked.html"),
    ),
    (
        EmailKind::PasswordChanged,
        include_str!("../../../templates/email/password_changed.subject.txt"),
        include_str!("../../../templates/email/password_changed.html"),
    ),
    (
        EmailKind::EmailChangedOldAddress,
        include_str!("../../../templates/email/email_changed_old_address.subject.txt"),
        include_str!("../../../templates/email/email_changed_old_address.html"),
    ),
    (
        EmailKind::EmailChangedNewAddress,
        include_str!("../../../templates/email/email_changed_new_address.subject.txt"),
        include_str!("../../../templates/email/email_changed_new_address.html"),
    ),
];

/// `(name, subject template, body template)` of the other sandboxes' emails.
const PROVIDER: [(&str, &str, &str); 3] = [
    (
        "auth0_password_reset",
        "Reset your password",
        include_str!("mail/auth0_password_reset.html"),
    ),
    (
        "auth0_verify_email",
        "Verify your email address",
        include_str!("mail/auth0_verify_email.html"),
    ),
    (
        "hybris_password_reset",
        "Reset your password",
        include_str!("mail/hybris_password_reset.html"),
    ),
];

/// The environment the sandboxes share, built on first use.
pub fn shared() -> &'static Environment<'static> {
    static ENV: std::sync::LazyLock<Environment<'static>> = std::sync::LazyLock::new(environment);
    &ENV
}

/// One of the other providers' emails (`auth0_password_reset`, ...). These templates are ours
/// and tested, so a failure is shown in the outbox rather than refused.
pub fn provider_email(name: &str, context: &serde_json::Value) -> Rendered {
    render(shared(), name, context).unwrap_or_else(|e| Rendered {
        subject: format!("({name}: not rendered)"),
        html: format!("<p>{}</p>", crate::text::html_escape(&e.to_string())),
    })
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    /// A whole HTML document.
    pub html: String,
}

/// Why an email could not be rendered. Template errors name the template, line and the
/// undefined or failing expression, never a parameter's value.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no template named {0}")]
    Unknown(String),
    #[error("template {name} could not be rendered: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

fn subject_name(name: &str) -> String {
    format!("{name}.subject.txt")
}

fn body_name(name: &str) -> String {
    format!("{name}.html")
}

/// Every template, strict about undefined values. `.html` names are auto-escaped.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Escape as Jinja2's markupsafe does (`&<>"'`): minijinja also escapes `/`, which would make
    // the rendered links differ from what Bloomreach's Jinja produces.
    env.set_formatter(|out, state, value| {
        if state.auto_escape() != AutoEscape::Html || value.is_safe() {
            return minijinja::escape_formatter(out, state, value);
        }
        let text = value.to_string();
        let escaped = crate::text::html_escape(&text);
        out.write_str(&escaped).map_err(minijinja::Error::from)
    });
    let all = SECURITY
        .iter()
        .map(|(k, s, b)| (k.as_str(), *s, *b))
        .chain(PROVIDER.iter().copied());
    for (name, subject, body) in all {
        // The sources are ours and compiled in: a syntax error is caught by the tests below.
        if let Err(e) = env.add_template_owned(subject_name(name), subject.trim_end().to_owned()) {
            tracing::error!(template = name, error = %e, "subject template does not parse");
        }
        if let Err(e) = env.add_template_owned(body_name(name), body.to_owned()) {
            tracing::error!(template = name, error = %e, "email template does not parse");
        }
    }
    env
}

/// Renders the email `name` (an [`EmailKind`] name or a provider email) with `context`.
pub fn render(
    env: &Environment<'_>,
    name: &str,
    context: &serde_json::Value,
) -> Result<Rendered, RenderError> {
    let ctx = Value::from_serialize(context);
    let one = |template: String| -> Result<String, RenderError> {
        let t = env
            .get_template(&template)
            .map_err(|_| RenderError::Unknown(name.to_owned()))?;
        t.render(&ctx).map_err(|source| RenderError::Template {
            name: template.clone(),
            source,
        })
    };
    Ok(Rendered {
        subject: one(subject_name(name))?.trim().to_owned(),
        html: one(body_name(name))?,
    })
}

/// Renders a security email from the transactional API's `params`.
pub fn render_security(
    env: &Environment<'_>,
    kind: EmailKind,
    params: &serde_json::Value,
) -> Result<Rendered, RenderError> {
    render(env, kind.as_str(), &serde_json::json!({ "params": params }))
}

/// The sources of a security email: `(subject, body)`.
pub fn source(kind: EmailKind) -> (&'static str, &'static str) {
    SECURITY
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, s, b)| (*s, *b))
        .unwrap_or(("", ""))
}

/// The `params.<name>` a security email's subject and body refer to.
pub fn used_params(env: &Environment<'_>, kind: EmailKind) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for name in [subject_name(kind.as_str()), body_name(kind.as_str())] {
        if let Ok(t) = env.get_template(&name) {
            for var in t.undeclared_variables(true) {
                if let Some(param) = var.strip_prefix("params.") {
                    used.insert(param.to_owned());
                }
            }
        }
    }
    used
}

/// The parameters a security email declares it ignores, from its `ignores:` comment line.
pub fn declared_ignored(kind: EmailKind) -> BTreeSet<String> {
    let (_, body) = source(kind);
    body.lines()
        .filter_map(|l| l.trim().strip_prefix("ignores:"))
        .flat_map(|rest| rest.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_parses() {
        let env = environment();
        for (kind, _, _) in SECURITY {
            for name in [subject_name(kind.as_str()), body_name(kind.as_str())] {
                assert!(env.get_template(&name).is_ok(), "{name}");
            }
        }
        for (name, _, _) in PROVIDER {
            assert!(env.get_template(&body_name(name)).is_ok(), "{name}");
        }
    }

    #[test]
    fn occurred_at_is_shown_in_words_with_utc_stated() {
        let env = environment();
        let r = render_security(
            &env,
            EmailKind::PasswordChanged,
            &json!({"occurred_at": "2026-11-05T09:58:11.043Z", "email_kind": "password_changed", "event_type": "scp"}),
        )
        .unwrap();
        assert_eq!(r.subject, "Your password has been changed");
        assert!(
            r.html.contains("5 November 2026 at 09:58 UTC"),
            "{}",
            r.html
        );
        // Not ISO 8601 after all: shown as it came, still saying UTC, never an error.
        let r = render_security(
            &env,
            EmailKind::PasswordChanged,
            &json!({"occurred_at": "yesterday", "email_kind": "password_changed", "event_type": "scp"}),
        )
        .unwrap();
        assert!(r.html.contains("yesterday (UTC)"), "{}", r.html);
    }

    #[test]
    fn a_missing_required_parameter_is_an_error_not_a_blank() {
        let env = environment();
        let err = render_security(&env, EmailKind::AccountBlocked, &json!({})).unwrap_err();
        assert!(err.to_string().contains("account_blocked.html"), "{err}");
    }

    #[test]
    fn provider_emails_render_with_their_context() {
        let r = provider_email(
            "auth0_password_reset",
            &json!({"email": "jane@example.com", "url": "https://t.example/u/reset-password?ticket=1", "tenant": "t.example"}),
        );
        assert_eq!(r.subject, "Reset your password");
        assert!(
            r.html
                .contains("href=\"https://t.example/u/reset-password?ticket=1\""),
            "{}",
            r.html
        );
        let r = provider_email("auth0_verify_email", &json!({}));
        assert!(r.subject.contains("not rendered"), "strict: {}", r.subject);
    }

    #[test]
    fn ignores_line_is_read() {
        assert_eq!(
            declared_ignored(EmailKind::PasswordChanged),
            BTreeSet::from(["email_kind".to_owned(), "event_type".to_owned()])
        );
    }
}
