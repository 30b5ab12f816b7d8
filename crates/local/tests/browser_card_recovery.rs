//! The Dixa card's address-history states (issue 19) in headless Chromium, from fixed look-up
//! answers (`card_fixtures`): rendered with the `liquid` crate into a file, opened at Dixa's
//! sidebar width, driven by visible text as an agent would. No backend: where a button needs
//! an answer, the page's `fetch` is replaced by one that records the request and answers as the
//! API's contract says (`docs/dixa.md`), so what is checked is the card's own script: the
//! request it makes and the words it shows. The story against the real API runs through the
//! preview (`browser_dixa_card.rs`). Screenshots go to `target/screenshots/dixa-card-*.png`.

mod card_fixtures;
mod common;

use card_fixtures::*;
use fantoccini::{Client, Locator};
use local::dixa_card::{CARD_FILE, render};
use serde_json::{Value, json};
use test_support::browser::{Browser, click_button};

use common::card::{SIDEBAR, WAIT, assert_text, class_of, screenshot_at, wait_for_text};
/// Nothing listens there: every call goes through the stubbed `fetch`.
const API: &str = "http://127.0.0.1:9";

/// Writes the card for `response` as the preview's frame document and opens it.
async fn open_card(c: &Client, response: &Value) {
    let template =
        std::fs::read_to_string(common::workspace().join(CARD_FILE)).expect("dixa/card.liquid");
    let card = render(&template, response, API).unwrap();
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Auth0 account card</title></head><body style=\"margin:8px\">{card}</body></html>"
    );
    let path = common::temp_dir("card").join("card.html");
    std::fs::write(&path, page).unwrap();
    c.goto(&format!("file://{}", path.display())).await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#a0-card"))
        .await
        .unwrap();
}

/// Replaces the page's `fetch`: requests are recorded in `window.__calls`; the answer is
/// `status` with `body`, or, with `status` 0, held until [`answer`] gives it.
async fn stub_fetch(c: &Client, status: u16, body: Value) {
    c.execute(
        "var status = arguments[0], body = arguments[1];
         window.__calls = window.__calls || [];
         window.fetch = function (url, opts) {
           window.__calls.push({ url: url, method: opts.method, auth: opts.headers.Authorization, body: opts.body });
           var reply = function (s, b) {
             return new Response(JSON.stringify(b), { status: s, headers: { 'Content-Type': 'application/json' } });
           };
           if (status) { return Promise.resolve(reply(status, body)); }
           return new Promise(function (resolve) { window.__answer = function (s, b) { resolve(reply(s, b)); }; });
         };",
        vec![json!(status), body],
    )
    .await
    .unwrap();
}

/// Gives the held request of a `stub_fetch(c, 0, ..)` its answer.
async fn answer(c: &Client, status: u16, body: Value) {
    c.execute(
        "window.__answer(arguments[0], arguments[1]);",
        vec![json!(status), body],
    )
    .await
    .unwrap();
}

async fn calls(c: &Client) -> Vec<Value> {
    let v = c
        .execute("return window.__calls || [];", vec![])
        .await
        .unwrap();
    v.as_array().unwrap().clone()
}

/// The visible button texts of the account section `index` (0: the moved account).
async fn section_buttons(c: &Client, index: usize) -> Vec<String> {
    common::card::buttons_per_account(c)
        .await
        .swap_remove(index)
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

#[tokio::test]
async fn a_moved_account_its_events_and_the_restore_in_words() {
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();
    open_card(c, &moved_and_current()).await;

    // What happened, first, in words; where the account's email is now.
    assert_text(
        c,
        ".a0-moved-head",
        "This address was moved to another email on 4 December 2026 by the customer",
    )
    .await;
    assert_text(c, ".a0-now", &format!("Its email now: {MOVED_TO}")).await;
    assert_text(
        c,
        ".a0-steps",
        "If the customer did not make this change:\nGive the address back\nSign out everywhere\nSend password reset email",
    )
    .await;
    assert_eq!(
        section_buttons(c, 0).await,
        [
            "Give the address back",
            "Sign out everywhere",
            "Send password reset email",
            "Resend verification email",
            "Change email",
            "Reset MFA",
            "Block"
        ]
    );
    assert_eq!(
        section_buttons(c, 1).await,
        ["Sign out everywhere", "Block"]
    );
    // The events are folded: one summary line, the list not shown.
    let summary = c.find(Locator::Css(".a0-events summary")).await.unwrap();
    assert_eq!(
        summary.text().await.unwrap(),
        "5 recent events, newest: Email changed on 4 December 2026"
    );
    let first_event = c.find(Locator::Css(".a0-events li")).await.unwrap();
    assert!(!first_event.is_displayed().await.unwrap());
    assert_text(
        c,
        "[data-events=\"unavailable\"]",
        "Recent events are unavailable right now.",
    )
    .await;
    browser
        .screenshot_full_page("dixa-card-moved-account")
        .await
        .unwrap();

    // Unfolded: one line per event, newest first, when and roughly where.
    summary.click().await.unwrap();
    assert!(first_event.is_displayed().await.unwrap());
    assert_eq!(
        first_event.text().await.unwrap(),
        "Email changed\n4 December 2026, 09:30 UTC, Germany"
    );
    browser
        .screenshot_full_page("dixa-card-events-unfolded")
        .await
        .unwrap();
    summary.click().await.unwrap();
    browser.set_viewport(SIDEBAR, 800).await.unwrap();

    // A reset before the address is back would go to the address the account moved to: the
    // question says so.
    click_button(c, "Send password reset email").await;
    let ask = wait_for_text(c, ".a0-confirm", "Send a password reset email to").await;
    assert!(
        ask.contains(MOVED_TO) && ask.contains("give the address back first"),
        "{ask}"
    );
    click_button(c, "Cancel").await;

    // Give the address back: asks first, naming both addresses; nothing is sent yet.
    stub_fetch(
        c,
        200,
        json!({"ok": true, "action": "restore_email", "user_id": MOVED_ID, "notification": "queued"}),
    )
    .await;
    click_button(c, "Give the address back").await;
    let ask = wait_for_text(c, ".a0-confirm", "Change this account's email from").await;
    assert_eq!(
        ask.lines().next().unwrap(),
        format!(
            "Change this account's email from {MOVED_TO} back to {LOOKED_UP}? {LOOKED_UP} gets a verification link; {MOVED_TO} is told of the change. Do this only if the customer did not make the change."
        )
    );
    assert!(calls(c).await.is_empty());
    // The confirm is in view where the agent clicked: screenshot the sidebar's first screen
    // scrolled to it.
    screenshot_at(&browser, ".a0-confirm", "dixa-card-confirm-restore").await;

    click_button(c, "Yes, give it back").await;
    let result = wait_for_text(c, ".a0-result", "Address given back").await;
    assert_eq!(
        result,
        format!(
            "\u{2713} Done. Address given back: the account's email is {LOOKED_UP} again, not yet verified (Auth0 sent it a verification link). The other address was told. Next: Sign out everywhere."
        )
    );
    // The request: the account's own token, the looked-up address as the body.
    let sent = calls(c).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["url"],
        format!("{API}/users/auth0%7C64f0c0ffee0123456789abcd/restore_email")
    );
    assert_eq!(sent[0]["method"], "POST");
    assert_eq!(sent[0]["auth"], format!("Bearer token-for-{MOVED_ID}"));
    let body: Value = serde_json::from_str(sent[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"email": LOOKED_UP}));
    // The card shows the change: the address back, unverified, no second restore.
    assert_text(c, ".a0-moved .a0-email", LOOKED_UP).await;
    assert_text(
        c,
        ".a0-moved [data-badge=\"verified\"]",
        "Email not verified",
    )
    .await;
    assert!(
        !section_buttons(c, 0)
            .await
            .contains(&"Give the address back".to_owned())
    );
    assert_text(
        c,
        ".a0-steps",
        "If the customer did not make this change:\nGive the address back (done)\nSign out everywhere\nSend password reset email",
    )
    .await;
    browser
        .screenshot_full_page("dixa-card-restored")
        .await
        .unwrap();
    browser.set_viewport(SIDEBAR, 800).await.unwrap();
    // Now a reset goes to the address that is back, without the warning.
    click_button(c, "Send password reset email").await;
    let ask = wait_for_text(c, ".a0-confirm", "Send a password reset email to").await;
    assert_eq!(
        ask.lines().next().unwrap(),
        format!("Send a password reset email to {LOOKED_UP}?")
    );
    click_button(c, "Cancel").await;
    browser.close().await;
}

#[tokio::test]
async fn sign_out_everywhere_busy_then_not_available_in_words() {
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();
    open_card(c, &moved_and_current()).await;

    stub_fetch(c, 0, json!(null)).await;
    click_button(c, "Sign out everywhere").await;
    let ask = wait_for_text(c, ".a0-confirm", "out on every device").await;
    assert!(
        ask.starts_with(&format!("Sign {MOVED_TO} out on every device and browser?")),
        "{ask}"
    );
    click_button(c, "Yes, sign out everywhere").await;
    // While the call runs: every control of that account disabled, the clicked one says so.
    wait_for_text(c, ".a0-confirm", "Working\u{2026}").await;
    let disabled = js(
        c,
        "return Array.prototype.map.call(document.querySelectorAll('.a0-moved button'), function (b) { return b.disabled; });",
    )
    .await;
    assert!(
        disabled.as_array().unwrap().iter().all(|d| d == true),
        "{disabled}"
    );
    screenshot_at(
        &browser,
        ".a0-moved .a0-confirm",
        "dixa-card-sign-out-working",
    )
    .await;

    // The tenant's plan has none: the API's sentence, as the result, in words.
    let message = "This Auth0 tenant's plan has no sign-out-everywhere (it needs an Enterprise plan). Nothing was revoked: change the password instead.";
    answer(
        c,
        409,
        json!({"error": {"code": "sign_out_not_available", "message": message}}),
    )
    .await;
    // On a moved account, the card adds the next step of the recovery order.
    let result = wait_for_text(c, ".a0-moved .a0-result", "Not done").await;
    assert_eq!(
        result,
        format!("\u{2717} Not done. {message} Next: Send password reset email.")
    );
    let class = class_of(c, ".a0-moved .a0-result").await;
    assert!(class.contains("a0-err"), "{class}");
    // The buttons work again and the button kept its name.
    assert!(
        section_buttons(c, 0)
            .await
            .contains(&"Sign out everywhere".to_owned())
    );
    screenshot_at(
        &browser,
        ".a0-moved .a0-result",
        "dixa-card-sign-out-not-available",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn refusals_and_unsure_answers_of_the_new_actions_read_as_sentences() {
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();

    // (action, button, confirm button, status, answer, what the card says)
    let other = "This account can only be given back the address the conversation is about. Nothing was changed.";
    let taken =
        "Another account now has this address, so it cannot be given back. Nothing was changed.";
    let cases = [
        ("Give the address back", "Yes, give it back", 403,
         json!({"error": {"code": "restore_other_address", "message": other}}), other.to_owned()),
        ("Give the address back", "Yes, give it back", 409,
         json!({"error": {"code": "email_taken", "message": taken}}), taken.to_owned()),
        ("Give the address back", "Yes, give it back", 403,
         json!({"error": {"code": "forbidden", "message": "Forbidden."}}),
         "Refused. Reopen the conversation to refresh the card, then try again.".to_owned()),
        ("Resend verification email", "Yes, send the verification", 503,
         json!({"error": {"code": "upstream_unavailable", "message": "The account service is unavailable. Try again shortly."}}),
         "Auth0 did not answer: the email may have been sent anyway. Ask the customer whether it arrived before sending it again.".to_owned()),
        ("Reset MFA", "Yes, reset MFA", 502,
         json!({"error": {"code": "upstream_error", "message": "The account service returned an error."}}),
         "Auth0 did not answer: the reset may be half done. Click Reset MFA again to finish it.".to_owned()),
    ];
    for (button, go, status, body, says) in cases {
        open_card(c, &moved_and_current()).await;
        stub_fetch(c, status, body).await;
        click_button(c, button).await;
        click_button(c, go).await;
        let result = wait_for_text(c, ".a0-moved .a0-result", "Not done").await;
        assert_eq!(
            result,
            format!("\u{2717} Not done. {says}"),
            "{button} {status}"
        );
    }

    // Reset MFA asks in the danger style, then shows the count gone.
    open_card(c, &moved_and_current()).await;
    stub_fetch(
        c,
        200,
        json!({"ok": true, "action": "reset_mfa", "user_id": MOVED_ID}),
    )
    .await;
    click_button(c, "Reset MFA").await;
    let ask = wait_for_text(c, ".a0-confirm", "Remove every MFA factor").await;
    assert!(ask.contains("cannot be undone"), "{ask}");
    let class = class_of(c, ".a0-moved .a0-confirm").await;
    assert!(class.contains("a0-confirm-danger"), "{class}");
    screenshot_at(
        &browser,
        ".a0-moved .a0-confirm",
        "dixa-card-confirm-reset-mfa",
    )
    .await;
    click_button(c, "Yes, reset MFA").await;
    wait_for_text(c, ".a0-moved .a0-result", "MFA reset: every factor removed").await;
    assert_text(c, ".a0-moved [data-fact=\"mfa\"]", "none").await;

    // A change that stands but was not recorded in the history: done, with a problem, in words.
    open_card(c, &moved_and_current()).await;
    stub_fetch(
        c,
        200,
        json!({"ok": true, "action": "restore_email", "user_id": MOVED_ID,
               "notification": "queued", "history": "not_recorded"}),
    )
    .await;
    click_button(c, "Give the address back").await;
    click_button(c, "Yes, give it back").await;
    let result = wait_for_text(c, ".a0-moved .a0-result", "Done, with a problem").await;
    assert!(
        result.contains("could not be recorded in the address history"),
        "{result}"
    );
    browser.close().await;
}

#[tokio::test]
async fn history_unavailable_is_said_above_the_card() {
    let browser = Browser::start(SIDEBAR, 200).await.unwrap();
    let c = browser.client();
    open_card(c, &none_history_unavailable()).await;
    assert_text(
        c,
        ".a0-history",
        "Address history is unavailable right now: an account that moved away from this address may not be listed.",
    )
    .await;
    assert_text(c, ".a0-empty", "No Auth0 account for this email.").await;
    browser
        .screenshot_full_page("dixa-card-history-unavailable")
        .await
        .unwrap();
    browser.close().await;
}
