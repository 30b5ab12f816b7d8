//! What the look-up's tests share: a look-up as Dixa sends it and its answer, the token keys,
//! and the parts of a wiremock Auth0 more than one test file mounts.
#![allow(dead_code)]

use dixa_access::{Action, ActionTokens};
use dixa_get_user::Lookup;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use test_support::apigw::lookup_event;
use test_support::auth0::M2M_TOKEN;
use test_support::dixa::{LOOKUP_SECRET, TOKEN_KEY};
use wiremock::{
    Mock, MockServer, ResponseTemplate, Times,
    matchers::{method, path},
};

/// The keys the look-up mints action tokens with, to verify them.
pub fn tokens() -> ActionTokens {
    ActionTokens::new(TOKEN_KEY.as_bytes(), None, 300).unwrap()
}

/// Whether `token` allows `action` on `user_id` at `now`.
pub fn allows(token: &str, user_id: &str, action: Action, now: u64) -> bool {
    tokens().verify(token, user_id, action, now).is_ok()
}

pub fn request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("a REST proxy event")
}

pub fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

/// `lookup`'s answer to a look-up of `email` as Dixa sends it: the secret header and the
/// three placeholders.
pub async fn look_up(lookup: &Lookup, email: &str) -> Response<Body> {
    lookup
        .handle(request(&lookup_event(email, Some(LOOKUP_SECRET))))
        .await
}

/// The card's events for [`test_support::auth0::security_logs`]: no IP, no description.
pub fn security_events() -> Value {
    json!({"status": "ok", "items": [
        {"date": "2026-11-20T09:58:11.043Z", "type": "sce", "what": "Email changed",
         "country": "Germany"},
        {"date": "2026-11-20T09:50:02.000Z", "type": "fp",
         "what": "Failed login: wrong password", "country": "DE"},
        {"date": "2026-11-20T09:49:00.000Z", "type": "limit_wc",
         "what": "Blocked after too many attempts"},
        {"date": "2026-11-19T18:00:00.000Z", "type": "s", "what": "Successful login"}
    ]})
}

/// No brute-force blocks for `encoded_id`, expected `expect` times.
pub async fn mount_no_blocks(server: &MockServer, encoded_id: &str, expect: impl Into<Times>) {
    test_support::auth0::mount_user_blocks(
        server,
        encoded_id,
        M2M_TOKEN,
        json!({"blocked_for": []}),
        expect,
    )
    .await;
}

/// Every `GET` of `api_path` answered with `status` and no body.
pub async fn mount_get_failing(server: &MockServer, api_path: impl Into<String>, status: u16) {
    Mock::given(method("GET"))
        .and(path(api_path.into()))
        .respond_with(ResponseTemplate::new(status))
        .mount(server)
        .await;
}
