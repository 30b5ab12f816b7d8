//! What the action handler's tests share: a button click and its answer, action tokens as the
//! look-up mints them, and the parts of a wiremock Auth0 and Email bus more than one test file
//! mounts.
#![allow(dead_code)]

use auth0_events::EmailAddress;
use dixa_access::{Action, ActionTokens, Grant, agent_ref};
use dixa_patch_user::Actions;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use test_support::apigw::action_event;
use test_support::auth0::{self, M2M_TOKEN, USER_ENCODED};
use test_support::dixa::{AGENT, CSID, TOKEN_KEY};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

pub fn request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("a REST proxy event")
}

/// A button click on Jane's account: POST with the token and the card's origin.
pub fn click(action: &str, token: &str, body: Option<&str>) -> lambda_http::Request {
    request(&action_event(USER_ENCODED, action, token, body))
}

/// `actions`' answer to a click on the `action` button (no body) with `token`.
pub async fn press(actions: &Actions, action: &str, token: &str) -> Response<Body> {
    actions.handle(click(action, token, None)).await
}

/// `actions`' answer to a `change_email` click with `token` to `email`.
pub async fn change_email(actions: &Actions, token: &str, email: &str) -> Response<Body> {
    click_with_email(actions, "change_email", token, email).await
}

/// `actions`' answer to a `restore_email` click with `token` giving back `email`.
pub async fn restore_email(actions: &Actions, token: &str, email: &str) -> Response<Body> {
    click_with_email(actions, "restore_email", token, email).await
}

/// `actions`' answer to a [`click`] on `action` whose body names `email`:
/// `{"email": "<email>"}`.
async fn click_with_email(
    actions: &Actions,
    action: &str,
    token: &str,
    email: &str,
) -> Response<Body> {
    let body = format!(r#"{{"email": "{email}"}}"#);
    actions.handle(click(action, token, Some(&body))).await
}

pub fn body(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

pub fn address(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

/// `actions` on `user_id`, for the conversation and agent of the test card.
pub fn grant(user_id: &str, actions: &[Action]) -> Grant {
    Grant {
        user_id: user_id.into(),
        actions: actions.to_vec(),
        conversation_id: CSID.into(),
        agent: agent_ref(AGENT),
    }
}

/// A token for [`grant`]`(user_id, actions)` signed with `key`, minted at `now`.
pub fn mint_with(key: &str, user_id: &str, actions: &[Action], now: u64) -> String {
    ActionTokens::new(key.as_bytes(), None, 300)
        .unwrap()
        .mint(&grant(user_id, actions), now)
}

/// A token as the look-up mints it for a moved account, minted at `now`: every action on
/// `user_id`, bound to the address `bound` it may be given back.
pub fn restore_token_for(user_id: &str, bound: &str, now: u64) -> String {
    ActionTokens::new(TOKEN_KEY.as_bytes(), None, 300)
        .unwrap()
        .mint_with_restore(&grant(user_id, &Action::ALL), bound, now)
}

/// `GET /api/v2/users/{USER}` answering `user`, expected once.
pub async fn mount_get_user(server: &MockServer, user: Value) {
    auth0::mount_get_user(server, USER_ENCODED, M2M_TOKEN, user, 1).await;
}

/// `DELETE /api/v2/users/{USER}/{what}` answered `status` without a body, expected `expect`
/// times.
pub async fn mount_user_delete(server: &MockServer, what: &str, status: u16, expect: u64) {
    let answer = ResponseTemplate::new(status);
    auth0::mount_user_delete(server, USER_ENCODED, what, M2M_TOKEN, answer, expect).await;
}

/// PutEvents (AWS JSON 1.1, `POST /`) answered with `failed` failed entries of two.
pub async fn mount_put_events(server: &MockServer, failed: usize) {
    let entries: Vec<Value> = (0..2)
        .map(|i| {
            if i < failed {
                json!({"ErrorCode": "InternalFailure", "ErrorMessage": "Internal failure"})
            } else {
                json!({"EventId": format!("event-{i}")})
            }
        })
        .collect();
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("x-amz-target", "AWSEvents.PutEvents"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_json(json!({"FailedEntryCount": failed, "Entries": entries})),
        )
        .mount(server)
        .await;
}
