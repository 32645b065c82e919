//! Origins (`scheme://host[:port]`): the validated form of the `login_host` and `graph_host`
//! settings, and the check that an `@odata.nextLink` stays on the Graph origin.
//!
//! | input | result |
//! | --- | --- |
//! | `https://graph.microsoft.com` | accepted |
//! | `http://127.0.0.1:8080` | accepted |
//! | `HTTPS://Graph.Microsoft.com:443/` | accepted as `https://graph.microsoft.com` (a lone `/` is no path) |
//! | `graph.microsoft.com` | rejected: no scheme |
//! | `ftp://graph.microsoft.com` | rejected: only `http` and `https` |
//! | `https://graph.microsoft.com/v1.0` | rejected: has a path |
//! | `https://user@graph.microsoft.com`, `...?a=b`, `...#f` | rejected: user info, query or fragment |
//!
//! Comparison is on the normalized form: lowercase scheme and host, default port dropped.

use std::fmt;

use http::Uri;

/// A normalized origin: lowercase scheme and host, and a port only when it is not the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    /// Parses a setting value that must be exactly an origin. The error describes the defect.
    pub(crate) fn parse(value: &str) -> Result<Origin, String> {
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains whitespace".to_string());
        }
        if value.contains('@') {
            return Err("contains user info (`@`)".to_string());
        }
        if value.contains('?') || value.contains('#') {
            return Err("contains a query or fragment".to_string());
        }
        let uri: Uri = value
            .parse()
            .map_err(|error| format!("is not a valid URL ({error})"))?;
        if uri.scheme_str().is_none() {
            return Err("has no scheme; write it as https://host or http://host:port".to_string());
        }
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(format!(
                "has a path (`{}`); give only scheme://host[:port]",
                uri.path()
            ));
        }
        Origin::from_uri(&uri)
    }

    /// Returns the origin of a full URL, or `None` when it is not an absolute http(s) URL
    /// without user info.
    pub(crate) fn of_url(url: &str) -> Option<Origin> {
        let uri: Uri = url.parse().ok()?;
        if uri.authority()?.as_str().contains('@') {
            return None;
        }
        Origin::from_uri(&uri).ok()
    }

    fn from_uri(uri: &Uri) -> Result<Origin, String> {
        let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            other => return Err(format!("has scheme `{other}`; use https or http")),
        };
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        if host.is_empty() {
            return Err("has no host".to_string());
        }
        let port = uri.port_u16().filter(|port| *port != default_port);
        Ok(Origin { scheme, host, port })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(value: &str) -> String {
        Origin::parse(value).unwrap().to_string()
    }

    #[test]
    fn https_origin_accepted() {
        assert_eq!(
            parsed("https://graph.microsoft.com"),
            "https://graph.microsoft.com"
        );
    }

    #[test]
    fn loopback_port_kept() {
        assert_eq!(parsed("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn ipv6_loopback_accepted() {
        assert_eq!(parsed("http://[::1]:9000"), "http://[::1]:9000");
    }

    #[test]
    fn case_and_default_port_normalized() {
        assert_eq!(
            parsed("HTTPS://Graph.Microsoft.com:443/"),
            "https://graph.microsoft.com"
        );
    }

    #[test]
    fn missing_scheme_rejected() {
        assert!(Origin::parse("graph.microsoft.com").is_err());
    }

    #[test]
    fn other_scheme_rejected() {
        assert!(Origin::parse("ftp://graph.microsoft.com").is_err());
    }

    #[test]
    fn path_rejected() {
        let error = Origin::parse("https://graph.microsoft.com/v1.0").unwrap_err();
        assert!(error.contains("/v1.0"), "{error}");
    }

    #[test]
    fn user_info_rejected() {
        assert!(Origin::parse("https://user@graph.microsoft.com").is_err());
    }

    #[test]
    fn query_rejected() {
        assert!(Origin::parse("https://graph.microsoft.com?a=b").is_err());
    }

    #[test]
    fn fragment_rejected() {
        assert!(Origin::parse("https://graph.microsoft.com#top").is_err());
    }

    #[test]
    fn whitespace_rejected() {
        assert!(Origin::parse("https://graph.microsoft.com ").is_err());
    }

    #[test]
    fn url_origin_extracted() {
        let origin = Origin::of_url("https://graph.microsoft.com/v1.0/users?$skiptoken=abc");
        assert_eq!(origin, Origin::parse("https://graph.microsoft.com").ok());
    }

    #[test]
    fn url_explicit_default_port_matches() {
        let origin = Origin::of_url("https://graph.microsoft.com:443/v1.0/users");
        assert_eq!(origin, Origin::parse("https://graph.microsoft.com").ok());
    }

    #[test]
    fn url_other_port_differs() {
        let origin = Origin::of_url("http://127.0.0.1:9/v1.0/users");
        assert_ne!(origin, Origin::parse("http://127.0.0.1:8080").ok());
    }

    #[test]
    fn relative_url_has_no_origin() {
        assert_eq!(Origin::of_url("/v1.0/users"), None);
    }

    #[test]
    fn url_with_user_info_has_no_origin() {
        assert_eq!(
            Origin::of_url("https://graph.microsoft.com@blocked.invalid/v1.0/users"),
            None
        );
    }
}
