//! The `[serve]` table keys of the platform API: where `photosync serve` listens.

use std::net::SocketAddr;

use serde::Deserialize;

/// Address the API listens on when `[serve] listen` is unset: loopback only, so exposing the
/// API to a network is an explicit choice (usually behind a TLS reverse proxy).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The `[serve]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    pub listen: Option<String>,
}

/// Validated `[serve]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// Socket address of the platform API.
    pub listen: SocketAddr,
}

impl ServeConfig {
    pub(super) fn from_raw(raw: &RawServe) -> Result<ServeConfig, String> {
        let text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = text.parse().map_err(|_| {
            format!("[serve] listen: '{text}' is not a socket address; write it as \"IP:PORT\", for example \"{DEFAULT_LISTEN}\"")
        })?;
        Ok(ServeConfig { listen })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_defaults_to_loopback() {
        let serve = ServeConfig::from_raw(&RawServe::default()).unwrap();
        assert_eq!(serve.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn host_name_listen_rejected() {
        let raw = RawServe {
            listen: Some("localhost:8080".to_string()),
        };
        let error = ServeConfig::from_raw(&raw).unwrap_err();
        assert!(error.contains("IP:PORT"), "{error}");
    }
}
