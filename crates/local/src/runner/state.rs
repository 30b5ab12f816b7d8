//! `.local/state.json`: what `local up` tells `local send` (and a person) about the system it
//! runs. [`StateFile`] is written and read here only; its JSON keys are the ones `up` has
//! always written, so a state file from an older `local` still reads.

use crate::runner::{api::DixaSecrets, error::LocalError};
use serde::{Deserialize, Serialize};
use std::{
    io,
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    time::Duration,
};

/// Where everything listens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoints {
    /// The EventBridge-compatible endpoint (`AWS_ENDPOINT_URL`).
    pub eventbridge: String,
    /// `GET` hops of the running system.
    pub hops: String,
    /// The API Gateway stand-in (Dixa routes); `None` when the template has no routes.
    pub api: Option<String>,
    pub auth0: Option<String>,
    pub bloomreach: Option<String>,
    pub hybris: Option<String>,
}

/// Where the state file is in a clone.
pub const STATE_FILE: &str = ".local/state.json";

/// The running system, as `up` writes it when everything listens and removes it on exit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StateFile {
    /// The `local up` process.
    pub pid: u32,
    pub endpoints: Endpoints,
    pub buses: Buses,
    /// The outbox folder.
    pub outbox: PathBuf,
    /// The Dixa card's secrets, generated at start-up.
    pub dixa: DixaSecrets,
}

/// The local names of the template's buses.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Buses {
    pub email: String,
    pub auth0_partner: String,
}

impl StateFile {
    /// The state file of the clone at `root`.
    pub fn path(root: &Path) -> PathBuf {
        root.join(STATE_FILE)
    }

    /// Reads a state file: [`LocalError::NotRunning`] when there is none,
    /// [`LocalError::StateUnreadable`] or [`LocalError::StateInvalid`] when it cannot be used.
    pub fn read(path: &Path) -> Result<Self, LocalError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                LocalError::NotRunning(path.to_path_buf())
            } else {
                LocalError::StateUnreadable {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        serde_json::from_str(&text).map_err(|source| LocalError::StateInvalid {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The system whose state file is at `path`, if it still runs (see [`Self::is_live`]);
    /// [`LocalError::NotRunning`] when the file is missing or stale.
    pub fn running(path: &Path) -> Result<Self, LocalError> {
        let state = Self::read(path)?;
        if state.is_live() {
            Ok(state)
        } else {
            Err(LocalError::NotRunning(path.to_path_buf()))
        }
    }

    /// Whether the system is still running: its process exists and its EventBridge endpoint
    /// accepts connections (a state file left by a killed run is neither). Blocks up to half a
    /// second.
    pub fn is_live(&self) -> bool {
        // Only Linux has /proc; elsewhere the port alone decides.
        let pid_alive =
            !cfg!(target_os = "linux") || Path::new(&format!("/proc/{}", self.pid)).exists();
        let Some(addr) = self
            .endpoints
            .eventbridge
            .strip_prefix("http://")
            .and_then(|a| a.parse::<SocketAddr>().ok())
        else {
            return false;
        };
        pid_alive && TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
    }

    /// Writes the file whole or not at all (a reader never sees half of it): to a file beside
    /// it, then renamed over it. Creates `.local/` when needed. Blocking.
    pub fn write(&self, path: &Path) -> Result<(), LocalError> {
        let written = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LocalError::Write { path, source }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(written(dir))?;
        }
        let json =
            serde_json::to_string_pretty(self).map_err(|source| LocalError::StateEncode {
                path: path.to_path_buf(),
                source,
            })?;
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, json).map_err(written(&partial))?;
        std::fs::rename(&partial, path).map_err(written(path))
    }

    /// Removes the state file, if it is there (`up` on its way out). Blocking.
    pub fn remove(path: &Path) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON `up` has written since the start, read as a [`StateFile`] and written back
    /// with the same keys.
    #[test]
    fn an_older_state_file_reads_and_writes_back_the_same_keys() {
        let old = serde_json::json!({
            "pid": 4242,
            "endpoints": {
                "eventbridge": "http://127.0.0.1:8750",
                "hops": "http://127.0.0.1:8750/_local/hops",
                "api": "http://127.0.0.1:8751",
                "auth0": "http://127.0.0.1:8752",
                "bloomreach": null,
                "hybris": "http://127.0.0.1:8754"
            },
            "buses": {"email": "email", "auth0_partner": "aws.partner/auth0.com/local/auth0.logs"},
            "outbox": "/tmp/clone/.local/outbox",
            "dixa": {
                "lookup_header": "x-dixa-card-secret",
                "lookup_secret": "s",
                "action_token_key": "k",
                "allowed_origin": "https://local.dixa.example"
            }
        });
        let state: StateFile = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(state.pid, 4242);
        assert_eq!(state.endpoints.eventbridge, "http://127.0.0.1:8750");
        assert_eq!(state.endpoints.bloomreach, None);
        assert_eq!(state.dixa.preview_origin, None);
        let back = serde_json::to_value(&state).unwrap();
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&back), keys(&old));
        assert_eq!(keys(&back["endpoints"]), keys(&old["endpoints"]));
        assert_eq!(back["buses"], old["buses"]);
    }

    #[test]
    fn missing_unreadable_and_invalid_files_say_which() {
        let dir = std::env::temp_dir().join(format!("local-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = StateFile::path(&dir);
        let missing = StateFile::read(&path).unwrap_err();
        assert!(matches!(missing, LocalError::NotRunning(_)), "{missing}");
        assert!(
            missing.to_string().contains("no running local system"),
            "{missing}"
        );

        std::fs::create_dir_all(&path).unwrap();
        let unreadable = StateFile::read(&path).unwrap_err();
        assert!(
            matches!(unreadable, LocalError::StateUnreadable { .. }),
            "{unreadable}"
        );
        std::fs::remove_dir(&path).unwrap();

        std::fs::write(&path, "{\"pid\": 1}").unwrap();
        let invalid = StateFile::read(&path).unwrap_err();
        assert!(
            matches!(invalid, LocalError::StateInvalid { .. }),
            "{invalid}"
        );
        assert!(invalid.to_string().contains("cargo xtask run"), "{invalid}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_written_file_reads_back_and_a_dead_one_is_not_running() {
        let dir = std::env::temp_dir().join(format!("local-state-rw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = StateFile::path(&dir);
        let state = StateFile {
            pid: std::process::id(),
            endpoints: Endpoints {
                // Port 1 on loopback: nothing listens there.
                eventbridge: "http://127.0.0.1:1".into(),
                hops: "http://127.0.0.1:1/_local/hops".into(),
                api: None,
                auth0: None,
                bloomreach: None,
                hybris: None,
            },
            buses: Buses {
                email: "email".into(),
                auth0_partner: "p".into(),
            },
            outbox: dir.join(".local/outbox"),
            dixa: crate::runner::api::DixaSecrets::generate(None),
        };
        state.write(&path).unwrap();
        assert_eq!(StateFile::read(&path).unwrap(), state);
        assert!(!path.with_extension("json.partial").exists());
        assert!(matches!(
            StateFile::running(&path),
            Err(LocalError::NotRunning(_))
        ));
        StateFile::remove(&path);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
