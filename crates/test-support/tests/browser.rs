//! The browser harness itself: a real Chromium loads a page from loopback, a click runs the
//! page's script, and the screenshot is a PNG of the requested width.

use axum::{Router, response::Html, routing::get};
use fantoccini::Locator;
use test_support::browser::{self, Browser};

const PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>harness</title>
<button type="button" onclick="document.getElementById('out').textContent = 'Clicked'">Press me</button>
<p id="out">Not yet</p>"#;

#[tokio::test]
async fn clicks_a_button_and_takes_a_screenshot_of_the_requested_width() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/", get(|| async { Html(PAGE) }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let browser = Browser::start(340, 300).await.unwrap();
    let c = browser.client();
    c.goto(&format!("http://{addr}/")).await.unwrap();
    assert_eq!(browser::text(c, Locator::Id("out")).await, "Not yet");
    browser::click_button(c, "Press me").await;
    assert_eq!(browser::text(c, Locator::Id("out")).await, "Clicked");

    let path = browser.screenshot("harness-340").await.unwrap();
    let png = std::fs::read(&path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (340, 300));
    browser.close().await;
}
