//! dixa-get-user: the look-up behind the Dixa custom card.
//!
//! Dixa calls `GET /lookup?email={{customer_email}}&csid={{csid}}&agent={{agent_email}}`
//! **server-side** (from its three published IPs, allow-listed by API Gateway's resource
//! policy) each time an agent opens a conversation, with the look-up secret in the header
//! configured in the card (default `x-dixa-card-secret`). The function
//!
//! 1. checks the secret (constant time, current or previous value during a rotation);
//! 2. finds every Auth0 account of the address with `GET /api/v2/users-by-email` (exact and
//!    immediately consistent; never the Lucene search) and, at the same time, the accounts the
//!    email history says had the address before (*moved* accounts, [`email_history`]);
//! 3. then, for every account at once, its brute-force blocks (`GET /api/v2/user-blocks/{id}`),
//!    its newest log entries ([`events`]), its MFA factors and, for a moved account, its
//!    profile: two sequential Auth0 round trips, whatever the number of accounts;
//! 4. answers a small JSON object for the card's template ([`card`]): an allow-list of profile
//!    fields plus, per account, a short-lived **action token** the card's buttons present to
//!    `dixa-patch-user` (for a moved account, bound to the looked-up address so the account can
//!    be given it back).
//!
//! Every look-up, allowed, refused or failed, writes one audit line
//! ([`dixa_access::audit()`]) with the Auth0 user ids, the conversation id and the agent as a
//! pseudonym; no log line holds an email address. Errors are JSON with a fixed text
//! ([`dixa_access::ApiError`]); nothing is ever returned as a Lambda error (API Gateway would
//! answer a bare 502). See [`handler`] for the status table and [`config`] for the settings.

pub mod card;
pub mod config;
pub mod events;
pub mod handler;

pub use config::Config;
pub use handler::Lookup;

use lambda_support::{Platform, StartError};

/// The ready handler, from the platform's settings: what `main` runs on Lambda and the local
/// run runs in each container. Secrets Manager is loaded only if a setting names an ARN; the
/// email history's key (`EMAIL_HISTORY_*`, [`email_history::history()`]) is fetched at the same
/// time as the other secrets.
pub async fn bootstrap(platform: &Platform) -> Result<Lookup, StartError> {
    let secrets = lambda_support::secrets_manager!(platform);
    let (config, history) = tokio::try_join!(
        async {
            Config::from_env(platform.env(), secrets)
                .await
                .map_err(StartError::config)
        },
        email_history::history(platform),
    )?;
    Ok(Lookup::new(config)
        .map_err(StartError::clients)?
        .with_history(history)
        .with_clock(platform.clock().clone()))
}
