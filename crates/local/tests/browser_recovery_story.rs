//! Issue 19's account-takeover recovery end to end, as the runbook in `docs/dixa.md`
//! ("Account-takeover recovery") has an agent walk it: an account's email is changed away from
//! the customer's address, the customer writes from the address they had, and the agent opens
//! the card for that address in headless Chromium (the local preview, the card in a sandboxed
//! iframe as Dixa holds it) and recovers the account with its buttons. Everything behind the
//! page is the local system: the Auth0 sandbox, the functions, the email history, the outbox.
//!
//! The email is changed away in two ways: by a Management API `PATCH` sent straight to the
//! Auth0 sandbox with the storefront backend's token, as the storefront's account page makes it
//! for whoever holds the customer's session (its `sce` log goes through the log stream to
//! email-transform, which tells both addresses and records the customer's change in the
//! history), and by an agent's *Change email* in the card (a social-engineered agent:
//! dixa-patch-user records it). Each step is checked
//! against the sandbox's `/_local/state`, the outbox and the audit lines: it happened, once.
//! A third walk runs on a tenant without Enterprise, where sign-out everywhere is refused in
//! words. Screenshots go to `target/screenshots/recovery-*.png`.

mod common;

use fantoccini::{Client, Locator};
use local::LocalSystem;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use test_support::browser::{Browser, click_button};
// See tests/dixa.rs: every test of a binary installs a capture.
use test_support::logs::{Logs, audit_lines, logs};

use common::card::{
    SIDEBAR, assert_text, auth0_state, day_in_words, open_card, open_change_email, screenshot_at,
    submit_email, texts, user, wait_for_text,
};
use common::outbox_is;
/// The conversation the customer writes in, from the address they had.
const CUSTOMER_CONVERSATION: &str = "8812345";
/// The address the account is moved to.
const INTRUDER: &str = "mallory.intruder@example.org";

const PAT: &str = "auth0|6650f1c2a3b4c5d6e7f80915";
const PAT_EMAIL: &str = "pat.morgan@example.com";
const MARIA: &str = "auth0|6650f1c2a3b4c5d6e7f80913";
const MARIA_EMAIL: &str = "maria.rossi@example.com";

/// The preview of the card Dixa would show in conversation `csid` for `email`, in the
/// sandboxed iframe Dixa uses (its requests carry `Origin: null`).
fn card_url(system: &LocalSystem, email: &str, csid: &str) -> String {
    format!(
        "{}/dixa/card?email={}&csid={csid}&agent=agent.smith%40shop.example&mode=null",
        system.endpoints().api.as_ref().unwrap(),
        lambda_support::encode_component(email)
    )
}

/// The visible texts of the buttons under `css`.
async fn buttons(c: &Client, css: &str) -> Vec<String> {
    texts(c, &format!("{css} button")).await
}

/// A screenshot of the whole card as it is now, at the sidebar's width: the preview's iframe is
/// scrolled to its top and stretched to the card for the shot (from the page: the frame's own
/// window is not the browser's), then put back, and the frame entered again; its script state
/// stays.
async fn whole_card(browser: &Browser, name: &str) {
    let c = browser.client();
    let height = c
        .execute(
            "window.scrollTo(0, 0);
             return Math.ceil(document.getElementById('a0-card').getBoundingClientRect().bottom) + 8;",
            vec![],
        )
        .await
        .unwrap();
    c.enter_parent_frame().await.unwrap();
    let frame =
        "window.scrollTo(0, 0); document.querySelector('iframe').style.height = arguments[0];";
    c.execute(frame, vec![json!(format!("{height}px"))])
        .await
        .unwrap();
    browser.screenshot_full_page(name).await.unwrap();
    browser.set_viewport(SIDEBAR, 800).await.unwrap();
    c.execute(frame, vec![json!("")]).await.unwrap();
    let iframe = c.find(Locator::Css("iframe")).await.unwrap();
    iframe.enter_frame().await.unwrap();
}

/// The user's tenant log entries of `type_` (and, when given, that description), newest first.
fn entries<'a>(
    state: &'a Value,
    user_id: &str,
    type_: &str,
    description: Option<&str>,
) -> Vec<&'a Value> {
    state["logs"][user_id]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == type_)
        .filter(|e| description.is_none_or(|d| e["description"] == d))
        .collect()
}

/// How many Management API writes of this kind (the sandbox's `sapi` description) the user's
/// history holds.
fn api_writes(state: &Value, user_id: &str, description: &str) -> usize {
    entries(state, user_id, "sapi", Some(description)).len()
}

fn count_for(list: &Value, user_id: &str) -> usize {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|j| j["user_id"] == user_id)
        .count()
}

/// The audit lines of `action` as `(outcome, reason)`, in order.
fn audits(logs: &Logs, action: &str) -> Vec<(String, String)> {
    audit_lines(&logs.text())
        .into_iter()
        .filter(|f| f["action"] == action)
        .map(|f| {
            let field = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (field("outcome"), field("reason"))
        })
        .collect()
}

fn allowed_once() -> Vec<(String, String)> {
    vec![("allowed".to_owned(), String::new())]
}

/// The account that moved, and the tenant it is on.
struct Moved<'a> {
    user_id: &'a str,
    /// The address the customer had, which the card is opened for.
    looked_up: &'a str,
    moved_to: &'a str,
    /// MFA factors and refresh tokens the account holds before the recovery.
    factors: usize,
    refresh_tokens: u64,
    enterprise: bool,
    /// Screenshots are named `recovery-<shots>-...`.
    shots: &'a str,
}

/// The runbook from the card opened for the old address, which shows the moved account under
/// its heading: give the address back, sign out everywhere, send a password reset, reset MFA;
/// then the card opened again, and the verification email sent again. `emails`: what the
/// outbox holds before. After each step the sandbox's state, the outbox and the audit lines
/// show it happened once.
async fn recover<'a>(
    system: &LocalSystem,
    browser: &Browser,
    logs: &Logs,
    m: &Moved<'a>,
    emails: &mut Vec<(&'a str, &'a str)>,
) {
    let c = browser.client();
    let before = auth0_state(system).await;
    let changes_before = entries(&before, m.user_id, "sce", None).len();
    let patches_before = api_writes(&before, m.user_id, "Update a User");

    // 1. Give the address back: asks first, naming both addresses; nothing changes until then.
    click_button(c, "Give the address back").await;
    let ask = wait_for_text(c, ".a0-moved .a0-confirm", "back to").await;
    assert!(
        ask.starts_with(&format!(
            "Change this account's email from {} back to {}?",
            m.moved_to, m.looked_up
        )),
        "{ask}"
    );
    assert_eq!(
        user(&auth0_state(system).await, m.user_id)["email"],
        m.moved_to
    );
    screenshot_at(
        browser,
        ".a0-moved .a0-confirm",
        &format!("recovery-{}-confirm-restore", m.shots),
    )
    .await;
    click_button(c, "Yes, give it back").await;
    let result = wait_for_text(c, ".a0-moved .a0-result", "Done").await;
    assert_eq!(
        result,
        format!(
            "\u{2713} Done. Address given back: the account's email is {} again, not yet verified (Auth0 sent it a verification link). The other address was told. Next: Sign out everywhere.",
            m.looked_up
        )
    );
    assert_text(c, ".a0-moved .a0-email", m.looked_up).await;
    // The address that was set is told, the restored one gets ours and Auth0's verification
    // link; the restore's own `sce` (made by the Dixa functions' client) sends nothing more.
    emails.extend([
        ("email_changed_old_address", m.moved_to),
        ("email_changed_new_address", m.looked_up),
        ("auth0_verify_email", m.looked_up),
    ]);
    outbox_is(system, emails).await;
    let state = auth0_state(system).await;
    let account = user(&state, m.user_id);
    assert_eq!(account["email"], m.looked_up);
    assert_eq!(account["email_verified"], false);
    assert_eq!(
        entries(&state, m.user_id, "sce", None).len(),
        changes_before + 1
    );
    assert_eq!(
        api_writes(&state, m.user_id, "Update a User"),
        patches_before + 1
    );
    let verifications: Vec<&Value> = state["verification_emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| *e == m.looked_up)
        .collect();
    assert_eq!(verifications.len(), 1, "{}", state["verification_emails"]);
    assert_eq!(audits(logs, "restore_email"), allowed_once());
    screenshot_at(
        browser,
        ".a0-moved .a0-result",
        &format!("recovery-{}-restored", m.shots),
    )
    .await;

    // 2. Sign out everywhere.
    click_button(c, "Sign out everywhere").await;
    let ask = wait_for_text(c, ".a0-moved .a0-confirm", "out on every device").await;
    assert!(
        ask.starts_with(&format!(
            "Sign {} out on every device and browser?",
            m.looked_up
        )),
        "{ask}"
    );
    click_button(c, "Yes, sign out everywhere").await;
    let state = if m.enterprise {
        let result = wait_for_text(c, ".a0-moved .a0-result", "Signed out").await;
        assert_eq!(
            result,
            "\u{2713} Done. Signed out everywhere: sessions ended and refresh tokens revoked. An app that is already open may keep working until its access runs out (minutes to hours). Next: Send password reset email."
        );
        let state = auth0_state(system).await;
        assert_eq!(state["sessions"][m.user_id], 0);
        assert_eq!(state["refresh_tokens"][m.user_id], 0);
        assert_eq!(api_writes(&state, m.user_id, "Delete sessions for user"), 1);
        assert_eq!(
            api_writes(&state, m.user_id, "Delete refresh tokens for user"),
            1
        );
        assert_eq!(audits(logs, "sign_out_everywhere"), allowed_once());
        state
    } else {
        // The words of docs/dixa.md, and the next step of the runbook.
        let result = wait_for_text(c, ".a0-moved .a0-result", "Not done").await;
        assert_eq!(
            result,
            "\u{2717} Not done. This Auth0 tenant's plan has no sign-out-everywhere (it needs an Enterprise plan). Nothing was revoked: change the password instead. Next: Send password reset email."
        );
        let state = auth0_state(system).await;
        assert_eq!(state["refresh_tokens"][m.user_id], m.refresh_tokens);
        assert_eq!(api_writes(&state, m.user_id, "Delete sessions for user"), 0);
        assert_eq!(
            api_writes(&state, m.user_id, "Delete refresh tokens for user"),
            0
        );
        assert_eq!(
            audits(logs, "sign_out_everywhere"),
            [("failed".to_owned(), "not_available_on_plan".to_owned())]
        );
        state
    };
    assert_eq!(state["enterprise"], m.enterprise);
    screenshot_at(
        browser,
        ".a0-moved .a0-result",
        &format!("recovery-{}-signed-out", m.shots),
    )
    .await;

    // 3. A password reset, to the address that is back: no warning in the question now.
    click_button(c, "Send password reset email").await;
    let ask = wait_for_text(c, ".a0-moved .a0-confirm", "password reset email to").await;
    assert_eq!(
        ask.lines().next().unwrap(),
        format!("Send a password reset email to {}?", m.looked_up)
    );
    click_button(c, "Yes, send it").await;
    let result = wait_for_text(c, ".a0-moved .a0-result", "Done").await;
    assert_eq!(result, "\u{2713} Done. Password reset email sent.");
    emails.push(("auth0_password_reset", m.looked_up));
    outbox_is(system, emails).await;
    let state = auth0_state(system).await;
    assert_eq!(count_for(&state["password_resets"], m.user_id), 1);
    assert_eq!(
        state["password_resets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["user_id"] == m.user_id)
            .unwrap()["email"],
        m.looked_up
    );
    assert_eq!(audits(logs, "send_password_reset"), allowed_once());

    // 4. Reset MFA: asked in the danger style; every factor goes, remembered browsers too.
    assert_eq!(
        state["authentication_methods"][m.user_id]
            .as_array()
            .unwrap()
            .len(),
        m.factors
    );
    let words = if m.factors == 1 { "factor" } else { "factors" };
    assert_text(
        c,
        ".a0-moved [data-fact=\"mfa\"]",
        &format!("{} {words}", m.factors),
    )
    .await;
    click_button(c, "Reset MFA").await;
    let ask = wait_for_text(c, ".a0-moved .a0-confirm", "Remove every MFA factor").await;
    assert!(ask.contains("cannot be undone"), "{ask}");
    screenshot_at(
        browser,
        ".a0-moved .a0-confirm",
        &format!("recovery-{}-confirm-reset-mfa", m.shots),
    )
    .await;
    click_button(c, "Yes, reset MFA").await;
    let result = wait_for_text(c, ".a0-moved .a0-result", "Done").await;
    assert_eq!(
        result,
        "\u{2713} Done. MFA reset: every factor removed and every remembered browser forgotten. The customer sets MFA up again at the next sign-in that asks for it."
    );
    assert_text(c, ".a0-moved [data-fact=\"mfa\"]", "none").await;
    let state = auth0_state(system).await;
    assert_eq!(state["authentication_methods"][m.user_id], json!([]));
    assert_eq!(
        entries(&state, m.user_id, "gd_unenroll", None).len(),
        m.factors
    );
    assert_eq!(
        api_writes(
            &state,
            m.user_id,
            "Delete all authentication methods for a user"
        ),
        1
    );
    assert_eq!(
        count_for(&state["remember_browser_invalidations"], m.user_id),
        1
    );
    assert_eq!(audits(logs, "reset_mfa"), allowed_once());
    whole_card(browser, &format!("recovery-{}-recovered", m.shots)).await;

    // 5. The conversation reopened: the account has the address again, so it is the current
    // account (nothing moved away now), unverified, without factors; the verification email
    // once more for a customer who did not get it.
    c.enter_parent_frame().await.unwrap();
    open_card(c, &card_url(system, m.looked_up, CUSTOMER_CONVERSATION)).await;
    assert!(c.find(Locator::Css(".a0-moved")).await.is_err());
    assert_text(c, ".a0-email", m.looked_up).await;
    assert_text(c, "[data-badge=\"verified\"]", "Email not verified").await;
    assert_text(c, "[data-fact=\"mfa\"]", "none").await;
    assert_eq!(
        buttons(c, ".a0-account").await,
        [
            "Sign out everywhere",
            "Send password reset email",
            "Resend verification email",
            "Change email",
            "Block"
        ]
    );
    click_button(c, "Resend verification email").await;
    let ask = wait_for_text(c, ".a0-confirm", "verification email to").await;
    assert_eq!(
        ask.lines().next().unwrap(),
        format!("Send a new verification email to {}?", m.looked_up)
    );
    click_button(c, "Yes, send the verification").await;
    let result = wait_for_text(c, ".a0-result", "Done").await;
    assert_eq!(
        result,
        "\u{2713} Done. Verification email sent: the customer must open the link in it."
    );
    emails.push(("auth0_verify_email", m.looked_up));
    outbox_is(system, emails).await;
    let state = auth0_state(system).await;
    let jobs: Vec<&Value> = state["verification_jobs"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["user_id"], m.user_id);
    assert_eq!(jobs[0]["email"], m.looked_up);
    assert_eq!(audits(logs, "resend_verification"), allowed_once());
    whole_card(browser, &format!("recovery-{}-reopened", m.shots)).await;

    // Nothing was changed twice: one change away and one back.
    let state = auth0_state(system).await;
    assert_eq!(
        entries(&state, m.user_id, "sce", None).len(),
        changes_before + 1
    );
}

/// The seed with Pat holding what an intruder leaves: an authenticator they enrolled and
/// refresh tokens of their apps (the sandbox has no enrolment or login, so they are seeded).
fn seed_with_intruder_on_pat(seed: &str) -> String {
    let mut seed: Value = serde_json::from_str(seed).unwrap();
    seed["sessions"][PAT] = json!(1);
    seed["refresh_tokens"][PAT] = json!(2);
    seed["authentication_methods"][PAT] = json!([{
        "id": "totp|dev_intruder0000000001",
        "type": "totp",
        "confirmed": true,
        "created_at": "2026-11-20T10:03:27.512Z"
    }]);
    seed.to_string()
}

/// Sends the change an intruder signed in as the customer makes from the storefront's account
/// page: the storefront backend's token (the tenant's second M2M application, not the Dixa
/// card's), then `PATCH /api/v2/users/{id}` with a new, verified address.
async fn patch_email_away(system: &LocalSystem, user_id: &str, to: &str) {
    let auth0 = system.auth0().unwrap();
    let settings = auth0.settings();
    let base = system.endpoints().auth0.as_ref().unwrap();
    let http = lambda_support::http::client_builder().build().unwrap();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": local::sandbox::auth0::STOREFRONT_CLIENT_ID,
            "client_secret": auth0.storefront_secret(),
            "audience": settings.audience(),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let patched = http
        .patch(format!(
            "{base}/api/v2/users/{}",
            lambda_support::encode_component(user_id)
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"email": to, "email_verified": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 200);
    // The `sce` goes through the log stream to email-transform: wait until it has been
    // handled, then for anything it caused.
    let start = Instant::now();
    while email_transform_results(system).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "email-transform never finished: {:?}",
            system.hops().all()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    system.settle(&[], Duration::from_secs(20)).await.unwrap();
}

/// What email-transform's invocations returned, in order.
fn email_transform_results(system: &LocalSystem) -> Vec<Value> {
    system
        .hops()
        .all()
        .into_iter()
        .filter_map(|h| match h.what {
            local::hops::What::Succeeded {
                function, result, ..
            } if function == "email-transform" => Some(result),
            _ => None,
        })
        .collect()
}

/// The story of an intruder's Management API change, on a tenant with or without Enterprise.
async fn management_api_change_then_recovery(enterprise: bool, shots: &str) {
    let logs = logs();
    let mut options = common::options();
    options.auth0_seed = seed_with_intruder_on_pat(&options.auth0_seed);
    options.auth0_enterprise = enterprise;
    let system = common::start_with(options).await;
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();

    patch_email_away(&system, PAT, INTRUDER).await;
    let state = auth0_state(&system).await;
    assert_eq!(user(&state, PAT)["email"], INTRUDER);
    assert_eq!(user(&state, PAT)["email_verified"], true);
    // Auth0 ends the sessions on an email change; refresh tokens and factors survive it.
    assert_eq!(state["sessions"][PAT], 0);
    assert_eq!(state["refresh_tokens"][PAT], 2);
    let sce = entries(&state, PAT, "sce", None);
    assert_eq!(sce.len(), 1);
    let changed_on = day_in_words(sce[0]["date"].as_str().unwrap());
    // email-transform took the log, made by the storefront's application: both addresses are
    // told (the one taken away with the promise to give it back), and the history records the
    // change as the customer's.
    let handled = email_transform_results(&system);
    assert_eq!(handled.len(), 1, "{handled:?}");
    assert_eq!(handled[0]["log_type"], "sce");
    assert_eq!(
        handled[0]["published"],
        json!(["email_changed_old_address", "email_changed_new_address"])
    );
    assert_eq!(handled[0]["skipped"], json!([]));
    let mut emails = vec![
        ("email_changed_old_address", PAT_EMAIL),
        ("email_changed_new_address", INTRUDER),
    ];
    outbox_is(&system, &emails).await;

    // The customer writes from the address they had: the card shows the account that moved
    // away, under its heading, from the history email-transform wrote.
    open_card(c, &card_url(&system, PAT_EMAIL, CUSTOMER_CONVERSATION)).await;
    assert_eq!(
        c.find_all(Locator::Css(".a0-account")).await.unwrap().len(),
        1
    );
    assert_text(
        c,
        ".a0-moved-head",
        &format!("This address was moved to another email on {changed_on} by the customer"),
    )
    .await;
    assert_text(c, ".a0-now", &format!("Its email now: {INTRUDER}")).await;
    assert_text(
        c,
        ".a0-steps",
        "If the customer did not make this change:\nGive the address back\nSign out everywhere\nSend password reset email",
    )
    .await;
    assert_eq!(
        buttons(c, ".a0-moved").await,
        [
            "Give the address back",
            "Sign out everywhere",
            "Send password reset email",
            "Change email",
            "Reset MFA",
            "Block"
        ]
    );
    whole_card(&browser, &format!("recovery-{shots}-moved")).await;
    // Its recent events, unfolded, show the change, with no place (the sandbox's loopback).
    let summary = c
        .find(Locator::Css(".a0-moved .a0-events summary"))
        .await
        .unwrap();
    summary.click().await.unwrap();
    let events = texts(c, ".a0-moved .a0-events li").await;
    assert!(
        events.iter().any(
            |e| e.starts_with(&format!("Email changed\n{changed_on}, ")) && e.ends_with(" UTC")
        ),
        "{events:?}"
    );
    whole_card(&browser, &format!("recovery-{shots}-events")).await;
    summary.click().await.unwrap();

    recover(
        &system,
        &browser,
        &logs,
        &Moved {
            user_id: PAT,
            looked_up: PAT_EMAIL,
            moved_to: INTRUDER,
            factors: 1,
            refresh_tokens: 2,
            enterprise,
            shots,
        },
        &mut emails,
    )
    .await;
    browser.close().await;
    system.shutdown().await;
}

#[tokio::test]
async fn a_management_api_change_away_then_the_whole_recovery_from_the_card() {
    management_api_change_then_recovery(true, "api-change").await;
}

/// The same story where the tenant's plan has no sign-out everywhere: the card says so in the
/// API's words, nothing is revoked, and the runbook goes on with the password reset.
#[tokio::test]
async fn without_enterprise_sign_out_is_refused_in_words_and_the_recovery_goes_on() {
    management_api_change_then_recovery(false, "no-enterprise").await;
}

#[tokio::test]
async fn an_agents_change_email_then_the_whole_recovery_from_the_card() {
    let logs = logs();
    let system = common::start().await;
    let browser = Browser::start(SIDEBAR, 800).await.unwrap();
    let c = browser.client();
    let talked_into_it = "7700001";

    // A social-engineered agent, in another conversation, changes Maria's email.
    open_card(c, &card_url(&system, MARIA_EMAIL, talked_into_it)).await;
    let input = open_change_email(c).await;
    submit_email(c, &input, INTRUDER).await;
    wait_for_text(c, ".a0-result", "Email changed").await;
    // dixa-patch-user tells both addresses; the change's `sce` (the Dixa client's) sends
    // nothing more.
    let mut emails = vec![
        ("email_changed_old_address", MARIA_EMAIL),
        ("email_changed_new_address", INTRUDER),
        ("auth0_verify_email", INTRUDER),
    ];
    outbox_is(&system, &emails).await;
    let state = auth0_state(&system).await;
    assert_eq!(user(&state, MARIA)["email"], INTRUDER);
    // The email change ended Maria's two sessions; her refresh token and factors survive it.
    assert_eq!(state["sessions"][MARIA], 0);
    assert_eq!(state["refresh_tokens"][MARIA], 1);
    let sce = entries(&state, MARIA, "sce", None);
    assert_eq!(sce.len(), 1);
    let changed_on = day_in_words(sce[0]["date"].as_str().unwrap());
    assert_eq!(audits(&logs, "change_email"), allowed_once());

    // Maria writes from the address she had: the card names the agent's conversation (the
    // record dixa-patch-user wrote, over email-transform's one of the same change).
    c.enter_parent_frame().await.unwrap();
    open_card(c, &card_url(&system, MARIA_EMAIL, CUSTOMER_CONVERSATION)).await;
    assert_eq!(
        c.find_all(Locator::Css(".a0-account")).await.unwrap().len(),
        1
    );
    assert_text(
        c,
        ".a0-moved-head",
        &format!(
            "This address was moved to another email on {changed_on} by a support agent (conversation {talked_into_it})"
        ),
    )
    .await;
    assert_text(c, ".a0-now", &format!("Its email now: {INTRUDER}")).await;
    assert_text(
        c,
        ".a0-moved [data-badge=\"verified\"]",
        "Email not verified",
    )
    .await;
    assert_eq!(
        buttons(c, ".a0-moved").await,
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
    whole_card(&browser, "recovery-agent-change-moved").await;

    recover(
        &system,
        &browser,
        &logs,
        &Moved {
            user_id: MARIA,
            looked_up: MARIA_EMAIL,
            moved_to: INTRUDER,
            factors: 2,
            refresh_tokens: 1,
            enterprise: true,
            shots: "agent-change",
        },
        &mut emails,
    )
    .await;
    // The agent's change, then the restore: two changes, each told to both addresses once.
    assert_eq!(audits(&logs, "change_email"), allowed_once());
    browser.close().await;
    system.shutdown().await;
}
