//! The Dixa card in headless Chromium, through the local preview (`/dixa/card`), against the
//! whole local system: the card's buttons call the real dixa-patch-user through the local API
//! Gateway and change the Auth0 sandbox. Found by visible text, as an agent would; checked
//! against the sandbox's `/_local/state` and the outbox, not pixels. Screenshots go to
//! `target/screenshots/dixa-card-*.png`.

mod common;

use fantoccini::{Client, Locator};
use local::LocalSystem;
use serde_json::Value;
use std::time::Duration;
use test_support::browser::{Browser, click_button};
// See tests/dixa.rs: every test of a binary installs a capture.
use test_support::logs::{assert_no_email_addresses, logs};

use common::card::{
    SIDEBAR, assert_text, auth0_state, buttons_per_account, class_of, open_card, open_change_email,
    submit_email, texts, user, wait_for_text,
};

fn preview_url(system: &LocalSystem, email: &str, mode: &str) -> String {
    format!(
        "{}/dixa/card?email={}&mode={mode}",
        system.endpoints().api.as_ref().unwrap(),
        lambda_support::encode_component(email)
    )
}

async fn button_texts(c: &Client) -> Vec<String> {
    texts(c, "button").await
}

fn blocks_for(state: &Value, identifier: &str) -> usize {
    state["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["identifier"] == identifier)
        .count()
}

/// The card's own origin as the page sees it: `null` in the sandboxed iframe.
async fn frame_origin(c: &Client) -> String {
    c.execute("return window.origin;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn clear_brute_force_blocks_from_a_sandboxed_iframe_with_origin_null() {
    let logs = logs();
    let system = common::start().await;
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();
    let locked = "lee.locked@example.com";
    assert_eq!(blocks_for(&auth0_state(&system).await, locked), 2);

    open_card(c, &preview_url(&system, locked, "null")).await;
    assert_eq!(frame_origin(c).await, "null");
    let badge = c
        .find(Locator::Css("[data-badge=\"brute-force\"]"))
        .await
        .unwrap();
    assert_eq!(badge.text().await.unwrap(), "Brute-force blocked (2)");
    assert_eq!(
        button_texts(c).await,
        [
            "Clear brute-force blocks",
            "Sign out everywhere",
            "Send password reset email",
            "Change email",
            "Block"
        ]
    );
    browser
        .screenshot("dixa-card-brute-force-blocked")
        .await
        .unwrap();

    // First click only asks; nothing changes until the agent confirms.
    click_button(c, "Clear brute-force blocks").await;
    let confirm = wait_for_text(c, ".a0-confirm", "Clear the brute-force blocks of").await;
    assert!(confirm.contains(locked), "{confirm}");
    assert_eq!(blocks_for(&auth0_state(&system).await, locked), 2);
    browser.screenshot("dixa-card-confirm").await.unwrap();
    click_button(c, "Yes, clear the blocks").await;

    let result = wait_for_text(c, ".a0-result", "Brute-force blocks cleared").await;
    assert!(result.starts_with("\u{2713} Done."), "{result}");
    assert!(
        c.find(Locator::Css("[data-badge=\"brute-force\"]"))
            .await
            .is_err(),
        "the badge is gone"
    );
    assert!(
        !button_texts(c)
            .await
            .contains(&"Clear brute-force blocks".to_owned())
    );
    browser.screenshot("dixa-card-cleared").await.unwrap();
    // Behind the page: the sandbox has no blocks left for the customer, others untouched.
    let state = auth0_state(&system).await;
    assert_eq!(blocks_for(&state, locked), 0);
    assert_eq!(blocks_for(&state, "jane.doe@example.com"), 1);

    browser.close().await;
    system.settle(&[], Duration::from_secs(5)).await.unwrap();
    assert_no_email_addresses(&logs.text());
    system.shutdown().await;
}

#[tokio::test]
async fn change_email_same_origin_tells_both_addresses() {
    let _logs = logs();
    let system = common::start().await;
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();
    let maria = "auth0|6650f1c2a3b4c5d6e7f80913";

    open_card(
        c,
        &preview_url(&system, "maria.rossi@example.com", "same-origin"),
    )
    .await;
    assert_eq!(
        frame_origin(c).await,
        *system.endpoints().api.as_ref().unwrap()
    );
    let input = open_change_email(c).await;

    // The card checks the address before calling anything.
    submit_email(c, &input, "maria at example").await;
    wait_for_text(c, ".a0-field-error", "Enter an email address like").await;
    assert_eq!(
        user(&auth0_state(&system).await, maria)["email"],
        "maria.rossi@example.com"
    );
    browser
        .screenshot("dixa-card-change-email-invalid")
        .await
        .unwrap();

    input.clear().await.unwrap();
    submit_email(c, &input, "Maria.New@Example.org").await;
    let result = wait_for_text(c, ".a0-result", "Email changed").await;
    assert!(result.starts_with("\u{2713} Done."), "{result}");
    assert_text(c, ".a0-email", "maria.new@example.org").await;
    wait_for_text(c, "[data-badge=\"verified\"]", "Email not verified").await;
    browser.screenshot("dixa-card-email-changed").await.unwrap();

    let user = user(&auth0_state(&system).await, maria).clone();
    assert_eq!(user["email"], "maria.new@example.org");
    assert_eq!(user["email_verified"], false);
    // dixa-patch-user puts both emails; the `sce` the sandbox logs is skipped by
    // email-transform (DIXA_AUTH0_CLIENT_ID): each email arrives once, and nothing more once
    // everything has run.
    common::outbox_is(
        &system,
        &[
            ("auth0_verify_email", "maria.new@example.org"),
            ("email_changed_new_address", "maria.new@example.org"),
            ("email_changed_old_address", "maria.rossi@example.com"),
        ],
    )
    .await;
    browser.close().await;
    system.shutdown().await;
}

/// The change is made but its emails cannot be put (dixa-patch-user's Email bus does not
/// exist): the card says the email changed and, in words, that the customer was not told.
#[tokio::test]
async fn change_email_whose_emails_cannot_be_sent_says_the_customer_was_not_told() {
    let logs = logs();
    let mut options = common::options();
    options.function_env.push((
        "dixa-patch-user".into(),
        "EMAIL_BUS_NAME".into(),
        "no-such-bus".into(),
    ));
    options.function_env.push((
        "dixa-patch-user".into(),
        "PUBLISH_BACKOFF_BASE_MS".into(),
        "10".into(),
    ));
    let system = common::start_with(options).await;
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();
    let maria = "auth0|6650f1c2a3b4c5d6e7f80913";

    open_card(
        c,
        &preview_url(&system, "maria.rossi@example.com", "same-origin"),
    )
    .await;
    let input = open_change_email(c).await;
    submit_email(c, &input, "maria.new@example.org").await;
    let result = wait_for_text(c, ".a0-result", "the customer was not told").await;
    assert!(
        result.starts_with("\u{26A0} Done, with a problem. Email changed, but"),
        "{result}"
    );
    assert!(
        result.contains("Do not change the email again."),
        "{result}"
    );
    let class = class_of(c, ".a0-result").await;
    assert!(class.contains("a0-warn"), "{class}");
    // The card shows the change, which was made.
    assert_text(c, ".a0-email", "maria.new@example.org").await;
    browser
        .screenshot("dixa-card-email-changed-customer-not-told")
        .await
        .unwrap();

    assert_eq!(
        user(&auth0_state(&system).await, maria)["email"],
        "maria.new@example.org"
    );
    system.settle(&[], Duration::from_secs(20)).await.unwrap();
    // Only Auth0's verification email: no security email from either path.
    assert_eq!(
        common::outbox_kinds(&system),
        [(
            "auth0_verify_email".to_owned(),
            "maria.new@example.org".to_owned()
        )]
    );
    let text = logs.text();
    assert!(text.contains("notification_failed"), "{text}");
    assert_no_email_addresses(&text);
    browser.close().await;
    system.shutdown().await;
}

#[tokio::test]
async fn social_accounts_offer_no_reset_and_no_email_change() {
    let _logs = logs();
    let system = common::start().await;
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();

    open_card(c, &preview_url(&system, "sam.social@example.com", "null")).await;
    assert_eq!(button_texts(c).await, ["Sign out everywhere", "Block"]);
    wait_for_text(
        c,
        ".a0-note:not([data-events])",
        "signs in through google-oauth2",
    )
    .await;
    browser.screenshot("dixa-card-social").await.unwrap();

    // Two accounts of one address: the database one has both buttons, the Google one neither.
    open_card(c, &preview_url(&system, "jane+shop@example.com", "null")).await;
    wait_for_text(c, ".a0-summary", "2 Auth0 accounts use this email").await;
    let per_account = buttons_per_account(c).await;
    assert_eq!(per_account.len(), 2);
    assert_eq!(
        per_account,
        [
            vec![
                "Clear brute-force blocks",
                "Sign out everywhere",
                "Send password reset email",
                "Change email",
                "Block"
            ],
            vec!["Sign out everywhere", "Block"],
        ]
    );
    browser
        .screenshot_full_page("dixa-card-two-accounts")
        .await
        .unwrap();

    // The card alone at sidebar width, as the README shows it.
    let frame = c
        .execute("return location.pathname + location.search;", vec![])
        .await
        .unwrap();
    c.enter_parent_frame().await.unwrap();
    c.goto(&format!(
        "{}{}",
        system.endpoints().api.as_ref().unwrap(),
        frame.as_str().unwrap()
    ))
    .await
    .unwrap();
    browser.set_viewport(SIDEBAR, 800).await.unwrap();
    browser
        .screenshot_full_page("dixa-card-sidebar")
        .await
        .unwrap();
    browser.close().await;
    system.shutdown().await;
}

#[tokio::test]
async fn an_expired_card_says_reopen_the_conversation() {
    let _logs = logs();
    let mut options = common::options();
    // The shortest lifetime the setting allows.
    options
        .env
        .insert("DIXA_ACTION_TOKEN_TTL_S".into(), "30".into());
    let system = common::start_with(options).await;
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();

    open_card(c, &preview_url(&system, "maria.rossi@example.com", "null")).await;
    wait_for_text(c, ".a0-foot", "The buttons work for 30 s").await;
    // 31 s pass, on the functions' clock (the token is now past its expiry) and on the page's
    // (the card tells an expiry from another refusal by its own load time): no waiting.
    system.clock().advance(Duration::from_secs(31));
    c.execute(
        "var realNow = Date.now; Date.now = function () { return realNow() + 31000; };",
        vec![],
    )
    .await
    .unwrap();
    click_button(c, "Send password reset email").await;
    click_button(c, "Yes, send it").await;
    let result = wait_for_text(c, ".a0-result", "This card has expired").await;
    assert!(
        result.contains("Reopen the conversation to refresh it"),
        "{result}"
    );
    browser.screenshot("dixa-card-expired").await.unwrap();
    // The API refused it: no reset email was asked for.
    let state = auth0_state(&system).await;
    assert_eq!(state["password_resets"], serde_json::json!([]));
    browser.close().await;
    system.shutdown().await;
}

#[tokio::test]
async fn unblock_then_send_a_password_reset() {
    let _logs = logs();
    let system = common::start().await;
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();
    let blocked = "auth0|6650f1c2a3b4c5d6e7f80917";
    assert_eq!(user(&auth0_state(&system).await, blocked)["blocked"], true);

    open_card(
        c,
        &preview_url(&system, "blocked.by.admin@example.com", "null"),
    )
    .await;
    wait_for_text(c, "[data-badge=\"blocked\"]", "Blocked by an admin").await;
    assert_eq!(
        button_texts(c).await,
        [
            "Unblock",
            "Sign out everywhere",
            "Send password reset email",
            "Change email"
        ]
    );
    click_button(c, "Unblock").await;
    click_button(c, "Yes, unblock").await;
    wait_for_text(c, ".a0-result", "Unblocked: the customer can sign in again").await;
    assert!(
        c.find(Locator::Css("[data-badge=\"blocked\"]"))
            .await
            .is_err()
    );
    assert_eq!(user(&auth0_state(&system).await, blocked)["blocked"], false);

    click_button(c, "Send password reset email").await;
    let ask = wait_for_text(c, ".a0-confirm", "Send a password reset email to").await;
    assert!(ask.contains("blocked.by.admin@example.com"), "{ask}");
    click_button(c, "Yes, send it").await;
    wait_for_text(c, ".a0-result", "Password reset email sent").await;
    browser.screenshot("dixa-card-reset-sent").await.unwrap();
    let resets = auth0_state(&system).await["password_resets"].clone();
    assert_eq!(resets.as_array().unwrap().len(), 1, "{resets}");
    assert_eq!(resets[0]["user_id"], blocked);
    browser.close().await;
    system.shutdown().await;
}
