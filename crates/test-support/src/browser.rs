//! Headless Chromium for tests that look at a page as a person would: Debian's `chromium`
//! driven through its `chromedriver` (WebDriver) with `fantoccini`.
//!
//! [`Browser::start`] starts a private chromedriver on a free loopback port and one headless
//! Chromium session with a fresh profile and the flags this closed network needs (without the
//! background-networking flags Chromium keeps trying to reach Google). A missing browser is a
//! test failure with a clear message, never a skip: `cargo xtask test` installs it.
//!
//! Screenshots go to `<target dir>/screenshots/<name>.png`, for a person (or the README) to look at.

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Map, json};
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::process::{Child, Command};

/// Where Debian's packages put them; `CHROMIUM` / `CHROMEDRIVER` override.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Flags for a root, sandboxed-network machine: no first-run UI, no calls home.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
];

pub struct Browser {
    client: Client,
    _driver: Child,
    profile: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "{0} not found: run `cargo xtask test`, which installs Debian's chromium and chromium-driver"
    )]
    Missing(String),
    #[error("could not start chromedriver: {0}")]
    Driver(String),
    #[error("WebDriver session: {0}")]
    Session(String),
    #[error("screenshot: {0}")]
    Screenshot(String),
}

impl Browser {
    /// A headless Chromium whose viewport is `width` x `height` CSS pixels.
    pub async fn start(width: u32, height: u32) -> Result<Self, BrowserError> {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.to_owned());
        for program in [&chromium, &chromedriver] {
            if !Path::new(program).exists() {
                return Err(BrowserError::Missing(program.clone()));
            }
        }

        let port = crate::moto::free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BrowserError::Driver(e.to_string()))?;
        wait_for_port(port, Duration::from_secs(20))
            .await
            .map_err(BrowserError::Driver)?;

        let profile = std::env::temp_dir().join(crate::unique("chromium-profile"));
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={width},{height}"));
        let mut capabilities = Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| BrowserError::Session(e.to_string()))?;
        let browser = Self {
            client,
            _driver: driver,
            profile,
        };
        browser.set_viewport(width, height).await?;
        Ok(browser)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Resizes the window so the page's viewport is exactly `width` x `height` (the window
    /// has no chrome in headless mode, but measure rather than assume).
    pub async fn set_viewport(&self, width: u32, height: u32) -> Result<(), BrowserError> {
        self.client
            .set_window_size(width, height)
            .await
            .map_err(|e| BrowserError::Session(e.to_string()))?;
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .map_err(|e| BrowserError::Session(e.to_string()))?;
        let (w, h) = (
            inner[0].as_u64().unwrap_or(u64::from(width)) as u32,
            inner[1].as_u64().unwrap_or(u64::from(height)) as u32,
        );
        if (w, h) != (width, height) {
            self.client
                .set_window_size(
                    width + (width - w.min(width)),
                    height + (height - h.min(height)),
                )
                .await
                .map_err(|e| BrowserError::Session(e.to_string()))?;
        }
        Ok(())
    }

    /// A PNG of the viewport, saved as `<target>/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, BrowserError> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| BrowserError::Screenshot(e.to_string()))?;
        save(name, &png)
    }

    /// A PNG of the whole page at the current width: the viewport is stretched to the
    /// document's height first.
    pub async fn screenshot_full_page(&self, name: &str) -> Result<PathBuf, BrowserError> {
        let size = self
            .client
            .execute(
                "return [window.innerWidth, Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)];",
                vec![],
            )
            .await
            .map_err(|e| BrowserError::Screenshot(e.to_string()))?;
        let width = size[0].as_u64().unwrap_or(1024) as u32;
        let height = (size[1].as_u64().unwrap_or(768) as u32).clamp(100, 16_000);
        self.set_viewport(width, height).await?;
        self.screenshot(name).await
    }

    /// Ends the session and the driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `<target dir>/screenshots`: `CARGO_TARGET_DIR` when set, else the workspace's `target/`.
pub fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

/// The visible text of the element `locator` finds; panics, naming the locator, if none.
pub async fn text(c: &Client, locator: Locator<'_>) -> String {
    let text = find(c, locator).await.text().await;
    text.unwrap_or_else(|e| panic!("{locator:?}: {e}"))
}

/// Clicks the element `locator` finds; panics, naming the locator, if none.
pub async fn click(c: &Client, locator: Locator<'_>) {
    let clicked = find(c, locator).await.click().await;
    clicked.unwrap_or_else(|e| panic!("{locator:?}: {e}"));
}

async fn find(c: &Client, locator: Locator<'_>) -> Element {
    let found = c.find(locator).await;
    found.unwrap_or_else(|e| panic!("{locator:?}: {e}"))
}

/// The button whose visible text is exactly `text`, found as a person finds it.
pub async fn button(c: &Client, text: &str) -> Element {
    c.find(Locator::XPath(&format!(
        "//button[normalize-space()='{text}']"
    )))
    .await
    .unwrap_or_else(|e| panic!("no button {text:?}: {e}"))
}

/// Clicks [`button`] `text`.
pub async fn click_button(c: &Client, text: &str) {
    button(c, text)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("button {text:?}: {e}"));
}

fn save(name: &str, png: &[u8]) -> Result<PathBuf, BrowserError> {
    let dir = screenshots_dir();
    std::fs::create_dir_all(&dir).map_err(|e| BrowserError::Screenshot(e.to_string()))?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).map_err(|e| BrowserError::Screenshot(e.to_string()))?;
    Ok(path)
}

async fn wait_for_port(port: u16, limit: Duration) -> Result<(), String> {
    let start = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if start.elapsed() > limit {
            return Err(format!("nothing listening on port {port} after {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
