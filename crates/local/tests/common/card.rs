//! The Dixa card in headless Chromium through the local preview: what the browser tests
//! share (open the card in its iframe, wait for a text, read it, read the Auth0 sandbox's
//! state).

use fantoccini::{Client, Locator, elements::Element};
use local::LocalSystem;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use test_support::browser::{Browser, click_button, text};

/// Dixa's sidebar is about 340 px wide; the preview's sidebar column is exactly that.
pub const SIDEBAR: u32 = 340;
pub const WAIT: Duration = Duration::from_secs(15);

/// Opens the preview and switches into the card's iframe once the card is there.
pub async fn open_card(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    let frame = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("iframe"))
        .await
        .unwrap();
    frame.enter_frame().await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#a0-card"))
        .await
        .unwrap();
}

/// Waits until the element's text contains `want`; returns the text.
pub async fn wait_for_text(c: &Client, css: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        let text = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(want) {
            return text;
        }
        assert!(
            start.elapsed() < WAIT,
            "{css}: wanted {want:?}, shows {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks that the element `css` finds shows exactly `want`.
pub async fn assert_text(c: &Client, css: &str, want: &str) {
    assert_eq!(text(c, Locator::Css(css)).await, want, "{css}");
}

/// The visible texts of the elements `css` finds, in order.
pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        texts.push(e.text().await.unwrap());
    }
    texts
}

/// The visible button texts of each account section, in order.
pub async fn buttons_per_account(c: &Client) -> Vec<Vec<String>> {
    let mut per_account = Vec::new();
    for section in c.find_all(Locator::Css(".a0-account")).await.unwrap() {
        let mut texts = Vec::new();
        for b in section.find_all(Locator::Css("button")).await.unwrap() {
            texts.push(b.text().await.unwrap());
        }
        per_account.push(texts);
    }
    per_account
}

/// The `class` attribute of the element `css` finds (empty if it has none).
pub async fn class_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// A screenshot of the sidebar's first screen with `css` in the middle of it, where the agent
/// is looking.
pub async fn screenshot_at(browser: &Browser, css: &str, name: &str) {
    browser
        .client()
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
            vec![json!(css)],
        )
        .await
        .unwrap();
    browser.screenshot(name).await.unwrap();
}

/// Opens the card's email change and returns its address field.
pub async fn open_change_email(c: &Client) -> Element {
    click_button(c, "Change email").await;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".a0-confirm input"))
        .await
        .unwrap()
}

/// Types `address` into the email change's field and submits it.
pub async fn submit_email(c: &Client, input: &Element, address: &str) {
    input.send_keys(address).await.unwrap();
    click_button(c, "Change to this email").await;
}

pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A log's RFC 3339 date as the card says it: `4 December 2026`.
pub fn day_in_words(date: &str) -> String {
    let month: usize = date[5..7].parse().unwrap();
    format!(
        "{} {} {}",
        date[8..10].trim_start_matches('0'),
        MONTHS[month - 1],
        &date[0..4]
    )
}

/// The Auth0 sandbox's `GET /_local/state`, as a person or a test reads it.
pub async fn auth0_state(system: &LocalSystem) -> Value {
    let url = format!(
        "{}/_local/state",
        system.endpoints().auth0.as_ref().unwrap()
    );
    let http = lambda_support::http::client_builder().build().unwrap();
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// The user `user_id` in the sandbox's state.
pub fn user<'a>(state: &'a Value, user_id: &str) -> &'a Value {
    state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == user_id)
        .unwrap_or_else(|| panic!("{user_id} in the sandbox"))
}
