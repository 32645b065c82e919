//! Outbound HTTP policy for plugins: the per-tenant allow-list, enforced on every wasi:http request.
//!
//! An allowed host is an origin, `scheme://host[:port]`, matched exactly on scheme, host and port
//! (the port defaults to 443 for `https` and 80 for `http`):
//!
//! | entry                        | allows                                   |
//! | ---------------------------- | ---------------------------------------- |
//! | `https://graph.microsoft.com` | `https://graph.microsoft.com:443/...`   |
//! | `https://login.example:8443`  | only port 8443 on that host             |
//! | `http://127.0.0.1:8123`       | plain HTTP, only for loopback hosts     |
//!
//! Plain `http` is rejected for any host other than `localhost`, `127.0.0.0/8` and `::1`, and an
//! empty list allows nothing. Requests are checked before any DNS lookup or connection. The
//! host's HTTP client follows no redirects, so a redirect cannot lead a plugin to another host.
//! Allowed requests go through the host's own client (`client`), which trusts the tenant's
//! certificate authorities (`tls`) and bounds the response body (`body`).

mod body;
mod client;
mod tls;

pub use tls::TlsTrust;

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use body::OverflowFlag;
use client::{RequestBounds, TlsFailure};

/// One allowed origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(formatter, "{}://{}:{}", self.scheme, host, self.port)
    }
}

impl Origin {
    /// Parses an origin such as `https://graph.microsoft.com` or `http://127.0.0.1:8080`.
    pub fn parse(text: &str) -> Result<Origin, String> {
        let url =
            url::Url::parse(text).map_err(|error| format!("'{text}' is not a URL: {error}"))?;
        let scheme = url.scheme().to_string();
        if scheme != "https" && scheme != "http" {
            return Err(format!(
                "'{text}': the scheme must be https (or http for a loopback host)"
            ));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(address)) => address.to_string(),
            Some(host) => host.to_string().to_ascii_lowercase(),
            None => return Err(format!("'{text}' has no host")),
        };
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "'{text}' must be an origin only, without a path or query"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("'{text}' must not contain credentials"));
        }
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("'{text}' has no port"))?;
        Ok(Origin { scheme, host, port })
    }

    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<IpAddr>()
                .is_ok_and(|address| address.is_loopback())
    }
}

/// The validated allow-list of one tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    origins: Vec<Origin>,
}

impl AllowedHosts {
    /// Validates the `allowed_hosts` entries of a tenant.
    pub fn parse(entries: &[String]) -> Result<AllowedHosts, String> {
        let mut origins = Vec::new();
        for entry in entries {
            let origin = Origin::parse(entry)?;
            if origin.scheme == "http" && !origin.is_loopback() {
                return Err(format!(
                    "'{entry}': plain http is allowed only for loopback hosts; use https://{}",
                    origin.host
                ));
            }
            origins.push(origin);
        }
        Ok(AllowedHosts { origins })
    }

    /// Tells whether a request to `origin` is allowed.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.origins.contains(origin)
    }

    /// Returns the allowed origins.
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }
}

/// Timeouts the host applies to every outbound request, whatever the plugin requests: a plugin
/// may shorten them, never lengthen them.
#[derive(Clone, Copy, Debug)]
pub struct OutboundTimeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
}

/// A request the host stopped, reported after the plugin call returns because the plugin
/// receives only a wasi:http error code and may hide it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboundViolation {
    /// The origin is not in the tenant's allow-list.
    Denied(Origin),
    /// A response body was larger than the cap, in bytes.
    ResponseTooLarge { origin: Origin, limit: u64 },
    /// The TLS handshake failed, usually because no trusted authority signed the certificate.
    Tls {
        origin: Origin,
        message: String,
        trusted: String,
    },
}

/// The wasi:http hooks of one plugin instance: allow-list check, then the host's HTTP client.
pub struct OutboundPolicy {
    tenant: Arc<str>,
    allowed: Arc<AllowedHosts>,
    timeouts: OutboundTimeouts,
    max_response_bytes: u64,
    tls: Arc<TlsTrust>,
    denials: Arc<Mutex<Vec<Origin>>>,
    /// Each allowed request's overflow flag and TLS failure slot, with its origin.
    requests: Vec<(Origin, OverflowFlag, TlsFailure)>,
}

impl OutboundPolicy {
    pub fn new(
        tenant: Arc<str>,
        allowed: Arc<AllowedHosts>,
        timeouts: OutboundTimeouts,
        max_response_bytes: u64,
        tls: Arc<TlsTrust>,
    ) -> OutboundPolicy {
        OutboundPolicy {
            tenant,
            allowed,
            timeouts,
            max_response_bytes,
            tls,
            denials: Arc::default(),
            requests: Vec::new(),
        }
    }

    /// Takes the first violation since the last call, denials first, and discards the rest.
    pub fn take_violation(&mut self) -> Option<OutboundViolation> {
        let denied = std::mem::take(
            &mut *self
                .denials
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let requests = std::mem::take(&mut self.requests);
        if let Some(origin) = denied.into_iter().next() {
            return Some(OutboundViolation::Denied(origin));
        }
        for (origin, overflow, tls_failure) in requests {
            let overflow = *overflow
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(limit) = overflow {
                return Some(OutboundViolation::ResponseTooLarge { origin, limit });
            }
            let tls_failure = tls_failure
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            if let Some(message) = tls_failure {
                return Some(OutboundViolation::Tls {
                    origin,
                    message,
                    trusted: self.tls.source().to_string(),
                });
            }
        }
        None
    }

    fn capped(&self, requested: Option<RequestOptions>) -> RequestOptions {
        let requested = requested.unwrap_or_default();
        let cap = |asked: Option<Duration>, limit: Duration| {
            Some(asked.map_or(limit, |asked| asked.min(limit)))
        };
        RequestOptions {
            connect_timeout: cap(requested.connect_timeout, self.timeouts.connect),
            first_byte_timeout: cap(requested.first_byte_timeout, self.timeouts.first_byte),
            between_bytes_timeout: cap(
                requested.between_bytes_timeout,
                self.timeouts.between_bytes,
            ),
        }
    }
}

/// Returns the origin a request goes to, or none when the URI lacks a scheme or host.
fn request_origin(uri: &http::Uri) -> Option<Origin> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri
        .host()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some(Origin { scheme, host, port })
}

type ResponseFuture = Box<
    dyn std::future::Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _io_result: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        let origin = request_origin(request.uri());
        let allowed = origin
            .as_ref()
            .is_some_and(|origin| self.allowed.allows(origin));
        if !allowed {
            let shown = origin
                .as_ref()
                .map_or_else(|| request.uri().to_string(), ToString::to_string);
            tracing::warn!(
                tenant = %self.tenant,
                host = %shown,
                "plugin request denied: the host is not in allowed_hosts; to allow it, add \"{shown}\" to allowed_hosts of the tenant"
            );
            if let Some(origin) = origin {
                self.denials
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(origin);
            }
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let options = self.capped(options);
        let bounds = RequestBounds {
            connect: options.connect_timeout.unwrap_or(self.timeouts.connect),
            first_byte: options
                .first_byte_timeout
                .unwrap_or(self.timeouts.first_byte),
            between_bytes: options
                .between_bytes_timeout
                .unwrap_or(self.timeouts.between_bytes),
            max_body_bytes: self.max_response_bytes,
        };
        let (overflow, tls_failure) = (OverflowFlag::default(), TlsFailure::default());
        if let Some(origin) = origin {
            self.requests
                .push((origin, overflow.clone(), tls_failure.clone()));
        }
        Box::new(client::send(
            request,
            bounds,
            self.tls.config(),
            overflow,
            tls_failure,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> Result<AllowedHosts, String> {
        AllowedHosts::parse(
            &entries
                .iter()
                .map(|entry| entry.to_string())
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn https_origin_gets_default_port() {
        let allowed = hosts(&["https://graph.microsoft.com"]).unwrap();
        let origin = Origin::parse("https://graph.microsoft.com:443").unwrap();
        assert!(allowed.allows(&origin));
    }

    #[test]
    fn other_port_is_denied() {
        let allowed = hosts(&["https://graph.microsoft.com"]).unwrap();
        let origin = Origin::parse("https://graph.microsoft.com:8443").unwrap();
        assert!(!allowed.allows(&origin));
    }

    #[test]
    fn other_scheme_is_denied() {
        let allowed = hosts(&["http://127.0.0.1:8080"]).unwrap();
        let origin = Origin::parse("https://127.0.0.1:8080").unwrap();
        assert!(!allowed.allows(&origin));
    }

    #[test]
    fn empty_list_allows_nothing() {
        let allowed = hosts(&[]).unwrap();
        let origin = Origin::parse("https://graph.microsoft.com").unwrap();
        assert!(!allowed.allows(&origin));
    }

    #[test]
    fn plain_http_to_remote_host_is_rejected() {
        let error = hosts(&["http://graph.microsoft.com"]).unwrap_err();
        assert!(error.contains("loopback"));
    }

    #[test]
    fn plain_http_to_loopback_is_accepted() {
        assert!(hosts(&[
            "http://127.0.0.1:9000",
            "http://[::1]:9000",
            "http://localhost:9000"
        ])
        .is_ok());
    }

    #[test]
    fn origin_with_path_is_rejected() {
        let error = hosts(&["https://graph.microsoft.com/v1.0"]).unwrap_err();
        assert!(error.contains("origin only"));
    }

    #[test]
    fn host_match_ignores_case() {
        let allowed = hosts(&["https://Graph.Microsoft.com"]).unwrap();
        let uri: http::Uri = "https://GRAPH.microsoft.com/v1.0/users".parse().unwrap();
        assert!(allowed.allows(&request_origin(&uri).unwrap()));
    }

    #[test]
    fn lookalike_subdomain_is_denied() {
        let allowed = hosts(&["https://graph.microsoft.com"]).unwrap();
        let uri: http::Uri = "https://graph.microsoft.com.blocked.invalid/"
            .parse()
            .unwrap();
        assert!(!allowed.allows(&request_origin(&uri).unwrap()));
    }
}
