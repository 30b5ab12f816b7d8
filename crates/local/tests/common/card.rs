//! The Dixa card in headless Chromium through the local preview: what the browser tests
//! share (open the card in its iframe, wait for a text, read the Auth0 sandbox's state).

use fantoccini::{Client, Locator};
use local::LocalSystem;
use serde_json::Value;
use std::time::{Duration, Instant};

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
