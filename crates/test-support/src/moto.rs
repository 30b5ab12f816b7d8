//! moto server: an AWS-compatible endpoint on loopback.
//!
//! `cargo xtask test` starts one server for the whole run and exports `MOTO_ENDPOINT`; a test
//! run another way (plain `cargo test`) starts its own. Tests share a server safely by naming
//! their resources with [`crate::unique`].

use std::{net::TcpListener, process::Stdio, time::Duration};
use tokio::process::{Child, Command};

pub struct Moto {
    endpoint: String,
    _child: Option<Child>,
}

impl Moto {
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// The shared server named by `MOTO_ENDPOINT`, or a new one owned by the returned handle
/// (killed when it drops).
pub async fn server() -> Moto {
    if let Some(endpoint) = std::env::var("MOTO_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
    {
        return Moto {
            endpoint,
            _child: None,
        };
    }
    let port = free_port();
    let child = Command::new(std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into()))
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start moto server: run `cargo xtask test`, which installs moto[server]");
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_listening(port, Duration::from_secs(30)).await;
    Moto {
        endpoint,
        _child: Some(child),
    }
}

/// A port the OS says is free now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

/// Polls until something accepts on the port; panics after `limit`.
pub async fn wait_until_listening(port: u16, limit: Duration) {
    let start = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < limit,
            "nothing listening on port {port} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
