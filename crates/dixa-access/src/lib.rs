//! Access control for the Dixa custom-card endpoints (`dixa-get-user`, `dixa-patch-user`).
//!
//! # Access model
//! - **Look-up** (`dixa-get-user`): Dixa calls it server-side. API Gateway (REST API) lets in
//!   only Dixa's source IPs (resource policy); the request must also carry the shared secret
//!   header ([`LookupGuard::check_lookup_secret`], constant-time, current or previous secret
//!   during rotation).
//! - **Actions** (`dixa-patch-user`): the card's buttons run in the agent's browser and cannot
//!   hold a static secret. The look-up response carries a short-lived action token
//!   ([`ActionTokens::mint`]): HMAC-SHA256-signed claims binding one Auth0 user id, the
//!   actions allowed for that account, the Dixa conversation id, the assigned agent's
//!   pseudonym and an expiry (default 5 min, at most 15). The button sends it as
//!   `Authorization: Bearer <token>`; [`ActionTokens::verify`] checks key (current, then
//!   previous), expiry, user and action. Every refusal is the same public error.
//! - **CORS** ([`Cors`]): only the configured Dixa origins may read responses in a browser
//!   (`Origin: null`, a sandboxed iframe's, only with its explicit opt-in).
//! - **Audit** ([`audit()`]): one `target = "audit"` line per look-up and action, with the agent
//!   as a pseudonym ([`agent_ref`]) and no email address.
//! - **Errors** ([`ApiError`]): `{"error": {"code", "message"}}` with fixed texts.
//! - **Plumbing** ([`http`]): path segments, query values, body reading with a size cap,
//!   the CORS-on-every-response wrapper, response helpers and the invocation deadline shared
//!   by both functions.
//!
//! - **Restores** ([`restore`]): which address a `restore_email` may set and when another
//!   account has taken it.
//!
//! - **Event loop** ([`envelope::run`]): API Gateway event → request → handler → response JSON,
//!   with a 400 JSON answer for an envelope `lambda_http` cannot convert.
//!
//! Build an [`AccessConfig`] once per container ([`AccessConfig::from_env`], settings in
//! [`config`]).
//!
//! Modules: [`secret`] is a leaf owning the secret rules (minimum length, [`StrongSecret`],
//! [`TokenTtl`]), so [`lookup`], [`token`] and [`error`] use it instead of reaching into
//! [`config`]; `config` builds on `secret`, `cors`, `lookup` and `token`, and nothing uses `config`.
//!
//! ```
//! use dixa_access::{Action, ActionTokens, Grant, agent_ref};
//! let tokens = ActionTokens::new(b"an-hmac-key-of-at-least-32-bytes", None, 300)?;
//! // dixa-get-user, in the look-up response:
//! let token = tokens.mint(
//!     &Grant {
//!         user_id: "auth0|64f0c0ffee".into(),
//!         actions: vec![Action::Block, Action::SendPasswordReset],
//!         conversation_id: "8812345".into(),
//!         agent: agent_ref("agent@shop.example"),
//!     },
//!     1_780_000_000,
//! );
//! // dixa-patch-user, with the token from `bearer_token(req.headers())` and the user id
//! // from the path; `now_unix()` in a handler:
//! let claims = tokens.verify(&token, "auth0|64f0c0ffee", Action::Block, 1_780_000_060)?;
//! assert_eq!(claims.csid, "8812345");
//! assert!(tokens.verify(&token, "auth0|64f0c0ffee", Action::ChangeEmail, 1_780_000_060).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit;
pub mod config;
pub mod cors;
pub mod envelope;
pub mod error;
pub mod http;
pub mod lookup;
pub mod restore;
pub mod secret;
pub mod token;

pub use audit::{AgentRef, AuditRecord, Outcome, agent_ref, audit};
pub use config::AccessConfig;
pub use cors::Cors;
pub use error::{AccessError, ApiError, json_response};
pub use http::{
    MAX_BODY_BYTES, agent_from_query, body_bytes, deadline, error_json, foreign_origin, json_body,
    known_agent, method_not_allowed, ok_json, path_segments, percent_decode, query_param,
    unknown_agent, upstream_failure, with_cors,
};
pub use lookup::LookupGuard;
pub use secret::{StrongSecret, TokenTtl, WeakSecret};
pub use token::{Action, ActionTokens, Claims, Grant, bearer_token, now_unix};
