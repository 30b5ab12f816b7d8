//! One Auth0 log → the SendEmail events it calls for. Pure: no I/O, no clock, no config reads.
//!
//! | log type | emails | address taken from (first that parses) |
//! |---|---|---|
//! | `limit_wc`, `limit_sul`, `limit_mu` | one `account_blocked` | `user_name` (what was typed at login; often the email, not always) |
//! | `scp` | one `password_changed` | `details.email`, then `user_name` |
//! | `sce` | `email_changed_old_address` + `email_changed_new_address` | `details.body.email` / `details.body.newEmail` (which is old: [`SceOldField`]) |
//! | anything else | none | skipped as `unhandled_type` |
//!
//! A log without a usable address is skipped, not failed: retrying cannot make an address
//! appear. `description` (which embeds the address in prose) is deliberately not parsed.
//!
//! When a log has a `user_id` but no usable address, the handler may look the user up in Auth0
//! ([`lookup_user_id`]) and call [`transform`] again with that address as `looked_up`: it is
//! the last candidate for every email except the old-address email of an `sce` (Auth0 only
//! knows the current, i.e. new, address).

use auth0_events::{
    AddressProblem, Auth0Event, EmailAddress, EmailAddressError, EmailChange, EmailKind, LogType,
    SendEmailDetail, TemplateParams,
};

/// Which `sce` field holds the old address. Auth0's schema names `email` and `newEmail` but
/// no real sample confirms which is which, so this is configuration (`SCE_OLD_EMAIL_FIELD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SceOldField {
    /// `details.body.email` is the old address, `newEmail` the new one (the reading of the schema).
    #[default]
    Email,
    /// The reverse.
    NewEmail,
}

impl SceOldField {
    /// The `details.body` fields of the old and the new address, in that order.
    pub fn keys(self) -> (&'static str, &'static str) {
        match self {
            SceOldField::Email => ("email", "newEmail"),
            SceOldField::NewEmail => ("newEmail", "email"),
        }
    }
}

/// Why an email was not produced. Carries no personal data: safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// This function does not email about this log type.
    UnhandledType,
    /// No field that could hold the address is present.
    NoAddress,
    /// Only a `user_id`: the address would have to be looked up in Auth0.
    OnlyUserId,
    /// A candidate field is present but is not an email address (e.g. a username).
    InvalidAddress(EmailAddressError),
    /// `sce` whose old and new address are the same (a verification-status change): nothing
    /// changed, so neither email is sent.
    SameAddress,
    /// `sce` made by the Dixa functions' own Auth0 client: dixa-patch-user has already put
    /// both emails itself, so sending them again would reach the customer twice.
    ChangedBySupport,
}

impl SkipReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            SkipReason::UnhandledType => "unhandled_type",
            SkipReason::NoAddress => "no_address",
            SkipReason::OnlyUserId => "only_user_id",
            SkipReason::InvalidAddress(_) => "invalid_address",
            SkipReason::SameAddress => "same_address",
            SkipReason::ChangedBySupport => "changed_by_support",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The email that was not produced; `None` when the whole log is unhandled.
    pub kind: Option<EmailKind>,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transformed {
    pub emails: Vec<SendEmailDetail>,
    pub skipped: Vec<Skip>,
}

/// The `user_id` worth looking up in Auth0: the log has one and some email lacks an address
/// that the user's current Auth0 address would supply.
pub fn lookup_user_id<'a>(event: &'a Auth0Event, out: &Transformed) -> Option<&'a str> {
    let resolvable = out.skipped.iter().any(|s| {
        s.kind
            .is_some_and(|k| k != EmailKind::EmailChangedOldAddress)
            && matches!(
                s.reason,
                SkipReason::OnlyUserId | SkipReason::InvalidAddress(_)
            )
    });
    resolvable.then(|| event.log.user_id()).flatten()
}

/// Whether `event` is an `sce` whose `client_id` is `support_client` (the Dixa functions' Auth0
/// client): an email change an agent made. Always `false` when `support_client` is unset.
pub fn is_support_change(event: &Auth0Event, support_client: Option<&str>) -> bool {
    let log = &event.log;
    log.log_type == LogType::Sce
        && support_client.is_some_and(|client| log.client_id.as_deref() == Some(client))
}

/// An `sce` whose `client_id` is `support_client` (the Dixa functions' Auth0 client, when
/// configured): both emails skipped as [`SkipReason::ChangedBySupport`]. `None` otherwise, and
/// always when `support_client` is unset, so nothing is skipped without the setting.
pub fn support_change(event: &Auth0Event, support_client: Option<&str>) -> Option<Transformed> {
    if !is_support_change(event, support_client) {
        return None;
    }
    let skipped = [
        EmailKind::EmailChangedOldAddress,
        EmailKind::EmailChangedNewAddress,
    ]
    .map(|kind| Skip {
        kind: Some(kind),
        reason: SkipReason::ChangedBySupport,
    });
    Some(Transformed {
        emails: Vec::new(),
        skipped: skipped.into(),
    })
}

pub fn transform(
    event: &Auth0Event,
    sce_old: SceOldField,
    looked_up: Option<&EmailAddress>,
) -> Transformed {
    let log = &event.log;
    let looked_up = looked_up.map(EmailAddress::as_str);
    let mut out = Transformed::default();
    let mut emit = |kind: EmailKind, built: Result<SendEmailDetail, SkipReason>| match built {
        Ok(detail) => out.emails.push(detail),
        Err(reason) => out.skipped.push(Skip {
            kind: Some(kind),
            reason,
        }),
    };
    let one = |kind: EmailKind, recipient: EmailAddress| {
        let params = TemplateParams {
            occurred_at: log.date.clone(),
            new_email_masked: None,
        };
        SendEmailDetail::new(kind, recipient, params, &event.log_id, log.log_type.clone())
    };
    match &log.log_type {
        t if t.is_brute_force_block() => {
            let kind = EmailKind::AccountBlocked;
            let found = find_address(log, &[log.user_name.as_deref(), looked_up]);
            emit(kind, found.map(|r| one(kind, r)));
        }
        LogType::Scp => {
            let kind = EmailKind::PasswordChanged;
            let candidates = [
                log.details_str(&["email"]),
                log.user_name.as_deref(),
                looked_up,
            ];
            emit(kind, find_address(log, &candidates).map(|r| one(kind, r)));
        }
        LogType::Sce => {
            let (old_key, new_key) = sce_old.keys();
            let old = find_address(log, &[log.details_str(&["body", old_key])]);
            let new = find_address(log, &[log.details_str(&["body", new_key]), looked_up]);
            // Auth0 also logs `sce` when only the verification status changes: the same
            // address twice means nothing changed, so neither email is sent.
            let (old, new) = match (&old, &new) {
                (Ok(o), Ok(n)) if o == n => {
                    (Err(SkipReason::SameAddress), Err(SkipReason::SameAddress))
                }
                _ => (old, new),
            };
            // The same pair dixa-patch-user builds for a change it made.
            let change = EmailChange {
                log_id: &event.log_id,
                log_type: log.log_type.clone(),
                occurred_at: log.date.clone(),
            };
            let masked = new.as_ref().ok();
            emit(
                EmailKind::EmailChangedOldAddress,
                old.map(|o| change.old_address(o, masked)),
            );
            emit(
                EmailKind::EmailChangedNewAddress,
                new.map(|n| change.new_address(n)),
            );
        }
        _ => out.skipped.push(Skip {
            kind: None,
            reason: SkipReason::UnhandledType,
        }),
    }
    out
}

impl From<AddressProblem> for SkipReason {
    fn from(p: AddressProblem) -> Self {
        match p {
            AddressProblem::Absent => SkipReason::NoAddress,
            AddressProblem::OnlyUserId => SkipReason::OnlyUserId,
            AddressProblem::Invalid(e) => SkipReason::InvalidAddress(e),
        }
    }
}

/// The first candidate that parses as an address; otherwise why none did.
fn find_address(
    log: &auth0_events::Auth0Log,
    candidates: &[Option<&str>],
) -> Result<EmailAddress, SkipReason> {
    log.find_address(candidates).map_err(SkipReason::from)
}
