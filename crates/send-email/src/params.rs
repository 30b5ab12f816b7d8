//! The template parameters: which ones each kind's email gets, under which name, and their values.
//!
//! [`build`] is the only place `email_content.params` is filled, and it fills it from
//! [`Param::for_kind`]: the list is what is sent, so the templates in `templates/email/` are
//! checked against this list (the contract test in `crates/local/tests/email_templates.rs`)
//! and a renamed or added parameter fails that test until the templates follow.

use crate::config::MessageConfig;
use auth0_events::{
    EmailKind,
    send_email::{SendEmailDetail, TemplateParams},
};
use serde_json::{Map, Value};

/// One template parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    OccurredAt,
    NewEmailMasked,
    EmailKind,
    EventType,
    ResetPasswordUrl,
    SupportUrl,
}

/// When a parameter is in the request (a template must cope with its absence otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Always,
    /// When the SendEmail event carries the fact.
    WhenInEvent,
    /// When the setting is configured.
    WhenConfigured,
}

impl Param {
    pub const ALL: [Param; 6] = [
        Param::OccurredAt,
        Param::NewEmailMasked,
        Param::EmailKind,
        Param::EventType,
        Param::ResetPasswordUrl,
        Param::SupportUrl,
    ];

    /// The key in `email_content.params` (and so the template's `params.<name>`).
    pub const fn name(self) -> &'static str {
        match self {
            Param::OccurredAt => "occurred_at",
            Param::NewEmailMasked => "new_email_masked",
            Param::EmailKind => "email_kind",
            Param::EventType => "event_type",
            Param::ResetPasswordUrl => "reset_password_url",
            Param::SupportUrl => "support_url",
        }
    }

    pub const fn presence(self) -> Presence {
        match self {
            Param::OccurredAt | Param::NewEmailMasked => Presence::WhenInEvent,
            Param::EmailKind | Param::EventType => Presence::Always,
            Param::ResetPasswordUrl | Param::SupportUrl => Presence::WhenConfigured,
        }
    }

    /// Whether `kind`'s email gets this parameter at all.
    pub fn applies_to(self, kind: EmailKind) -> bool {
        match self {
            // Only the old address is told where the account's email went, and only masked.
            Param::NewEmailMasked => kind == EmailKind::EmailChangedOldAddress,
            _ => true,
        }
    }

    /// The parameters `kind`'s email gets, in [`Param::ALL`] order.
    pub fn for_kind(kind: EmailKind) -> impl Iterator<Item = Param> {
        Param::ALL.into_iter().filter(move |p| p.applies_to(kind))
    }

    fn value<'a>(self, message: &'a MessageConfig, detail: &'a SendEmailDetail) -> Option<&'a str> {
        // No `..`: a fact added to the contract does not compile here until it is given a
        // parameter (or deliberately left out).
        let TemplateParams {
            occurred_at,
            new_email_masked,
        } = &detail.params;
        match self {
            Param::OccurredAt => occurred_at.as_deref(),
            Param::NewEmailMasked => new_email_masked.as_deref(),
            Param::EmailKind => Some(detail.kind.as_str()),
            Param::EventType => Some(detail.log_type.code()),
            Param::ResetPasswordUrl => message.reset_password_url.as_deref(),
            Param::SupportUrl => message.support_url.as_deref(),
        }
    }
}

/// `email_content.params` for one detail: every parameter of its kind that has a value.
pub fn build(message: &MessageConfig, detail: &SendEmailDetail) -> Map<String, Value> {
    Param::for_kind(detail.kind)
        .filter_map(|p| {
            p.value(message, detail)
                .map(|v| (p.name().to_owned(), Value::String(v.to_owned())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Template, Templates};
    use auth0_events::{EmailAddress, LogType};

    fn message(links: bool) -> MessageConfig {
        let t = |id: &str| Template {
            template_id: id.into(),
            campaign_name: id.into(),
        };
        MessageConfig {
            templates: Templates {
                account_blocked: t("a"),
                password_changed: t("b"),
                email_changed_old_address: t("c"),
                email_changed_new_address: t("d"),
            },
            customer_id_key: "registered".into(),
            language: None,
            sender_address: None,
            sender_name: None,
            integration_id: None,
            reset_password_url: links.then(|| "https://shop.example/reset".into()),
            support_url: links.then(|| "https://shop.example/help".into()),
        }
    }

    fn detail(kind: EmailKind, facts: bool) -> SendEmailDetail {
        SendEmailDetail::new(
            kind,
            EmailAddress::parse("jane@example.com").unwrap(),
            TemplateParams {
                occurred_at: facts.then(|| "2026-11-20T10:00:00.000Z".into()),
                new_email_masked: facts.then(|| "n***@example.org".into()),
            },
            &auth0_events::LogId::parse("900201").unwrap(),
            LogType::Sce,
        )
    }

    /// Sorted: `serde_json::Map` keeps insertion order when another crate enables `preserve_order`.
    fn keys(map: &Map<String, Value>) -> Vec<&str> {
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn every_fact_and_link_of_the_kind_is_sent_and_nothing_else() {
        let full = build(
            &message(true),
            &detail(EmailKind::EmailChangedOldAddress, true),
        );
        let mut want: Vec<&str> = Param::ALL.iter().map(|p| p.name()).collect();
        want.sort();
        assert_eq!(keys(&full), want);
        assert_eq!(full["event_type"], "sce");
        assert_eq!(full["email_kind"], "email_changed_old_address");

        // The masked new address belongs to the old-address email only, even if an event carries it.
        for kind in [
            EmailKind::AccountBlocked,
            EmailKind::PasswordChanged,
            EmailKind::EmailChangedNewAddress,
        ] {
            let params = build(&message(true), &detail(kind, true));
            assert!(!params.contains_key("new_email_masked"), "{kind:?}");
            assert_eq!(params.len(), Param::for_kind(kind).count(), "{kind:?}");
        }
    }

    #[test]
    fn absent_facts_and_unset_links_are_omitted() {
        let bare = build(
            &message(false),
            &detail(EmailKind::EmailChangedOldAddress, false),
        );
        assert_eq!(keys(&bare), ["email_kind", "event_type"]);
        for p in Param::ALL {
            assert_eq!(
                bare.contains_key(p.name()),
                p.presence() == Presence::Always,
                "{p:?}"
            );
        }
    }
}
