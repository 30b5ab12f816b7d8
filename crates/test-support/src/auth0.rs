//! An Auth0 tenant on a wiremock server, as the function tests use it: the settings that point a
//! function at it, its token endpoint, the Management API calls the functions make (the
//! account-recovery ones too: a user's logs, MFA factors, sign-out, the verification email),
//! and the users, logs and factors it answers with.

use serde_json::{Value, json};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate, Times, matchers};

/// The database account the tests look up and act on.
pub const USER: &str = "auth0|64f0c0ffee0123456789abcd";
/// [`USER`] as it stands in a Management API path (`|` percent-encoded).
pub const USER_ENCODED: &str = "auth0%7C64f0c0ffee0123456789abcd";
/// [`USER`]'s address: plus-addressed, so a `+` not sent as `%2B`, or a leak, is caught.
pub const EMAIL: &str = "jane+shop@example.com";
/// The Google account of [`social_user`].
pub const SOCIAL_USER: &str = "google-oauth2|1234567890";
/// The last IP [`user`] signed in from (personal data too: never in a log line).
pub const LAST_IP: &str = "203.0.113.7";
/// The Management API token the function tests' token endpoint hands out.
pub const M2M_TOKEN: &str = "a0-tok-4Wx2";
/// The M2M client secret [`env`] configures (the tests check it never reaches the output).
pub const CLIENT_SECRET: &str = "auth0-s3cret";

/// The `AUTH0_*` settings that point a function's Auth0 client at `base_url`, with fast,
/// bounded retries (two attempts, 10–20 ms backoff) so failure tests stay quick.
pub fn env(base_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AUTH0_DOMAIN", "shop.eu.auth0.com".to_owned()),
        ("AUTH0_BASE_URL", base_url.to_owned()),
        ("AUTH0_CLIENT_ID", "m2m".to_owned()),
        ("AUTH0_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("AUTH0_MAX_ATTEMPTS", "2".to_owned()),
        ("AUTH0_BACKOFF_BASE_MS", "10".to_owned()),
        ("AUTH0_BACKOFF_CAP_MS", "20".to_owned()),
    ]
}

/// A database (`Username-Password-Authentication`) user as the Management API returns it
/// (`GET /api/v2/users/{id}`, `users-by-email`): the fields the functions read, and fields none
/// may pass on (`name`, which Auth0 sets to the address, `phone_number`, the identity's IdP
/// `access_token`, the metadata, `last_ip`).
pub fn user(user_id: &str, email: &str) -> Value {
    let identity_id = user_id.split_once('|').map_or(user_id, |(_, id)| id);
    let nickname = email.split('@').next().unwrap_or(email);
    json!({
        "user_id": user_id,
        "email": email,
        "email_verified": true,
        "name": email,
        "nickname": nickname,
        "picture": "https://s.gravatar.com/avatar/x.png",
        "phone_number": "+4915112345678",
        "identities": [{
            "connection": "Username-Password-Authentication", "provider": "auth0",
            "user_id": identity_id, "isSocial": false,
            "access_token": "idp-access-token-secret"
        }],
        "app_metadata": {"hybris_uid": email},
        "user_metadata": {"lang": "de"},
        "logins_count": 12,
        "last_login": "2026-11-20T10:00:00.000Z",
        "created_at": "2024-01-02T03:04:05.000Z",
        "updated_at": "2026-11-20T10:00:00.000Z",
        "last_ip": LAST_IP,
        "blocked": false
    })
}

/// A Google user ([`SOCIAL_USER`]) as the Management API returns it: no password of ours, so no
/// reset and no email change; the identity's `user_id` a number, as Google's are.
pub fn social_user(email: &str) -> Value {
    json!({
        "user_id": SOCIAL_USER, "email": email, "email_verified": true, "blocked": false,
        "identities": [{"connection": "google-oauth2", "provider": "google-oauth2",
                        "user_id": 1234567890, "isSocial": true}],
        "logins_count": 3, "created_at": "2025-05-05T05:05:05.000Z"
    })
}

/// Auth0's 404 for a user id it does not know (`errorCode` `inexistent_user`).
pub fn user_not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "statusCode": 404, "error": "Not Found",
        "message": "The user does not exist.", "errorCode": "inexistent_user"
    }))
}

/// The token endpoint, `POST /oauth/token`, for a mock to answer.
pub fn token_endpoint() -> MockBuilder {
    Mock::given(matchers::method("POST")).and(matchers::path("/oauth/token"))
}

/// Auth0's answer to a client-credentials grant: `token`, valid `expires_in` seconds.
pub fn token_response(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token,
        "expires_in": expires_in,
        "scope": "read:users update:users",
        "token_type": "Bearer"
    }))
}

/// [`token_endpoint`] answering `token` for a day, expected `expect` times (`..`: any number).
pub async fn mount_token(server: &MockServer, token: &str, expect: impl Into<Times>) {
    token_endpoint()
        .respond_with(token_response(token, 86_400))
        .expect(expect)
        .mount(server)
        .await;
}

/// A fresh Auth0 on wiremock whose token endpoint grants `token`, expected `grants` times.
pub async fn start(token: &str, grants: impl Into<Times>) -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, token, grants).await;
    server
}

/// A Management API call: `method` on `path`, with `token` as the bearer.
pub fn management_call(method: &str, path: impl Into<String>, token: &str) -> MockBuilder {
    Mock::given(matchers::method(method))
        .and(matchers::path(path))
        .and(matchers::header(
            "authorization",
            format!("Bearer {token}").as_str(),
        ))
}

/// `GET /api/v2/users/{encoded_id}` with `token`, answering `user`, expected `expect` times.
pub async fn mount_get_user(
    server: &MockServer,
    encoded_id: &str,
    token: &str,
    user: Value,
    expect: impl Into<Times>,
) {
    let call = management_call("GET", format!("/api/v2/users/{encoded_id}"), token);
    answer(server, call, 200, user, expect).await;
}

/// `method` on `path` answered once with [`user_not_found`].
pub async fn mount_user_not_found(server: &MockServer, method: &str, path: &str) {
    Mock::given(matchers::method(method))
        .and(matchers::path(path))
        .respond_with(user_not_found())
        .expect(1)
        .mount(server)
        .await;
}

/// `call` answered with `response` the first time only, expected once: a transient failure or
/// a first token, after which the next mock for the same call answers.
pub async fn mount_once(server: &MockServer, call: MockBuilder, response: ResponseTemplate) {
    call.respond_with(response)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

/// `GET /api/v2/users-by-email` with `token` and exactly the raw query `raw_query` (e.g.
/// `email=jane%2Bshop%40example.com`), answering `users`, expected `expect` times.
pub async fn mount_users_by_email(
    server: &MockServer,
    raw_query: &'static str,
    token: &str,
    users: Value,
    expect: impl Into<Times>,
) {
    let call = management_call("GET", "/api/v2/users-by-email", token).and(RawQuery(raw_query));
    answer(server, call, 200, users, expect).await;
}

/// `GET /api/v2/user-blocks/{encoded_id}` with `token`, answering `blocks`
/// (`{"blocked_for": [...]}`), expected `expect` times.
pub async fn mount_user_blocks(
    server: &MockServer,
    encoded_id: &str,
    token: &str,
    blocks: Value,
    expect: impl Into<Times>,
) {
    let call = management_call("GET", format!("/api/v2/user-blocks/{encoded_id}"), token);
    answer(server, call, 200, blocks, expect).await;
}

/// `DELETE /api/v2/user-blocks/{encoded_id}` with `token`, answered 204, expected once.
pub async fn mount_delete_user_blocks(server: &MockServer, encoded_id: &str, token: &str) {
    management_call("DELETE", format!("/api/v2/user-blocks/{encoded_id}"), token)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(server)
        .await;
}

/// `PATCH /api/v2/users/{encoded_id}` with `token` and exactly `body`, answering `user`, expected
/// `expect` times.
pub async fn mount_patch_user(
    server: &MockServer,
    encoded_id: &str,
    token: &str,
    body: Value,
    user: Value,
    expect: impl Into<Times>,
) {
    let call = management_call("PATCH", format!("/api/v2/users/{encoded_id}"), token)
        .and(matchers::body_json(body));
    answer(server, call, 200, user, expect).await;
}

/// Mounts `call` answering `status` with the JSON `body`, expected `expect` times.
async fn answer(
    server: &MockServer,
    call: MockBuilder,
    status: u16,
    body: Value,
    expect: impl Into<Times>,
) {
    call.respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(expect)
        .mount(server)
        .await;
}

/// Auth0's answer to `POST /dbconnections/change_password`: 200 and a sentence of plain text.
pub fn change_password_sent() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        "We've just sent you an email to reset your password.",
        "text/plain; charset=utf-8",
    )
}

/// The raw query the Dixa look-up asks a user's logs with: the newest ten, newest first.
pub const LOGS_QUERY: &str = "page=0&per_page=10&sort=date:-1";
/// The IP of [`security_logs`]' entries (personal data: on the card only with
/// `DIXA_SHOW_LAST_IP`, never in a log line).
pub const LOG_IP: &str = "198.51.100.23";

/// A user's newest logs as `GET /api/v2/users/{id}/logs` returns them (newest first): the
/// address changed from Germany, a wrong password, a brute-force block (whose description names
/// the address typed), a success; with fields the card must not pass on (`description`,
/// `user_agent`, `details`, the city).
pub fn security_logs() -> Value {
    json!([
        {"date": "2026-11-20T09:58:11.043Z", "type": "sce", "description": "Email changed",
         "ip": LOG_IP, "user_agent": "Mozilla/5.0 Firefox/133.0", "user_id": USER,
         "user_name": EMAIL, "details": {"body": {"email": EMAIL}},
         "log_id": "90020261120095811043000000000000006",
         "location_info": {"country_code": "DE", "country_name": "Germany",
                           "city_name": "Hamburg", "time_zone": "Europe/Berlin"}},
        {"date": "2026-11-20T09:50:02.000Z", "type": "fp", "ip": LOG_IP,
         "description": "Wrong email or password.", "user_name": EMAIL,
         "location_info": {"country_code": "DE"}},
        {"date": "2026-11-20T09:49:00.000Z", "type": "limit_wc", "ip": LOG_IP,
         "description": format!("Too many failed login attempts for {EMAIL}")},
        {"date": "2026-11-19T18:00:00.000Z", "type": "s", "ip": "203.0.113.7"}
    ])
}

/// `GET /api/v2/users/{encoded_id}/logs?page=0&per_page=10&sort=date:-1` ([`LOGS_QUERY`]) with
/// `token`, answering `response`, expected `expect` times.
pub async fn mount_user_logs(
    server: &MockServer,
    encoded_id: &str,
    token: &str,
    response: ResponseTemplate,
    expect: impl Into<Times>,
) {
    management_call("GET", format!("/api/v2/users/{encoded_id}/logs"), token)
        .and(RawQuery(LOGS_QUERY))
        .respond_with(response)
        .expect(expect)
        .mount(server)
        .await;
}

/// An enrolled authenticator-app factor as `GET /api/v2/users/{id}/authentication-methods`
/// lists it.
pub fn totp_factor() -> Value {
    json!({"id": "totp|dev_0000000000000001", "type": "totp", "confirmed": true,
           "name": "Jane's phone", "created_at": "2025-06-01T10:00:00.000Z",
           "last_auth_at": "2026-11-19T18:00:00.000Z"})
}

/// `GET /api/v2/users/{encoded_id}/authentication-methods` with `token`, answering the array
/// `methods`, expected `expect` times.
pub async fn mount_authentication_methods(
    server: &MockServer,
    encoded_id: &str,
    token: &str,
    methods: Value,
    expect: impl Into<Times>,
) {
    let call = management_call(
        "GET",
        format!("/api/v2/users/{encoded_id}/authentication-methods"),
        token,
    );
    answer(server, call, 200, methods, expect).await;
}

/// What the Dixa look-up asks for every account besides its blocks, answered: the user's logs
/// (`logs`, an array) and its MFA factors (`methods`, an array), each expected once.
pub async fn mount_account_details(
    server: &MockServer,
    encoded_id: &str,
    token: &str,
    logs: Value,
    methods: Value,
) {
    let logs = ResponseTemplate::new(200).set_body_json(logs);
    mount_user_logs(server, encoded_id, token, logs, 1).await;
    mount_authentication_methods(server, encoded_id, token, methods, 1).await;
}

/// Auth0's answer where the tenant's plan has no such endpoint (sign-out everywhere outside
/// Enterprise): a 403 without `insufficient_scope`, as `auth0_client::SignOut` reads it
/// (UNVERIFIED shape).
pub fn not_available_on_plan() -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_json(json!({
        "statusCode": 403, "error": "Forbidden",
        "message": "This feature is only available on Enterprise plans.",
        "errorCode": "operation_not_supported"
    }))
}

/// `DELETE /api/v2/users/{encoded_id}/{what}` (`sessions`, `refresh-tokens`,
/// `authentication-methods`) with `token`, answering `response`, expected `expect` times.
pub async fn mount_user_delete(
    server: &MockServer,
    encoded_id: &str,
    what: &str,
    token: &str,
    response: ResponseTemplate,
    expect: impl Into<Times>,
) {
    management_call(
        "DELETE",
        format!("/api/v2/users/{encoded_id}/{what}"),
        token,
    )
    .respond_with(response)
    .expect(expect)
    .mount(server)
    .await;
}

/// `POST /api/v2/users/{encoded_id}/multifactor/actions/invalidate-remember-browser` with
/// `token`, answered 204, expected `expect` times.
pub async fn mount_invalidate_remember_browser(
    server: &MockServer,
    encoded_id: &str,
    token: &str,
    expect: impl Into<Times>,
) {
    let path =
        format!("/api/v2/users/{encoded_id}/multifactor/actions/invalidate-remember-browser");
    management_call("POST", path, token)
        .respond_with(ResponseTemplate::new(204))
        .expect(expect)
        .mount(server)
        .await;
}

/// `POST /api/v2/jobs/verification-email` with `token` and exactly `body`, answering Auth0's
/// queued job (201), expected `expect` times.
pub async fn mount_verification_email(
    server: &MockServer,
    token: &str,
    body: Value,
    expect: impl Into<Times>,
) {
    let call = management_call("POST", "/api/v2/jobs/verification-email", token)
        .and(matchers::body_json(body));
    let job = json!({"type": "verification_email", "status": "pending",
                     "created_at": "2026-11-20T10:00:00.000Z", "id": "job_0000000000000001"});
    answer(server, call, 201, job, expect).await;
}

/// Matches the raw (still percent-encoded) query string exactly, e.g. to prove `+` went as `%2B`.
pub struct RawQuery(pub &'static str);

impl Match for RawQuery {
    fn matches(&self, request: &Request) -> bool {
        request.url.query() == Some(self.0)
    }
}
