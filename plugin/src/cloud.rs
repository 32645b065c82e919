//! Microsoft clouds and the endpoints each one fixes: the login origin (Microsoft identity
//! platform), the Graph origin and the token scope.
//!
//! The origins come from Microsoft's "Microsoft Graph national cloud deployments" page
//! (learn.microsoft.com/graph/deployments). The `login_host` and `graph_host` overrides replace
//! an origin but never the scope, because a token is issued for the cloud's Graph resource.

use crate::origin::Origin;

/// A Microsoft cloud, named by the `cloud` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cloud {
    /// The global service (`global`), also used by Microsoft 365 GCC.
    Global,
    /// US Government L4, GCC High (`usgov`).
    UsGov,
    /// US Government L5, DoD (`usgov-dod`).
    UsGovDod,
    /// Microsoft 365 operated by 21Vianet in China (`china`).
    China,
}

impl Cloud {
    /// The accepted values of the `cloud` setting, for error messages and the setting's description.
    pub(crate) const NAMES: &'static str = "global, usgov, usgov-dod, china";

    /// Parses a `cloud` setting value, ignoring ASCII case.
    pub(crate) fn parse(value: &str) -> Option<Cloud> {
        match value.to_ascii_lowercase().as_str() {
            "global" => Some(Cloud::Global),
            "usgov" => Some(Cloud::UsGov),
            "usgov-dod" => Some(Cloud::UsGovDod),
            "china" => Some(Cloud::China),
            _ => None,
        }
    }

    /// Returns the Microsoft identity platform origin that issues tokens in this cloud.
    pub(crate) fn login_origin(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// Returns the Microsoft Graph origin of this cloud.
    pub(crate) fn graph_origin(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// Returns the client-credentials scope: all application permissions granted on this cloud's
    /// Graph.
    pub(crate) fn scope(self) -> String {
        format!("{}/.default", self.graph_origin())
    }
}

/// Request targets of the connector, after the overrides are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// Origin of the token endpoint.
    pub(crate) login: Origin,
    /// Origin of every Graph request, and the only origin an `@odata.nextLink` may point to.
    pub(crate) graph: Origin,
    /// The `scope` of the token request.
    pub(crate) scope: String,
}

impl Endpoints {
    /// Resolves the endpoints of `cloud`, with an override replacing the matching origin.
    pub(crate) fn resolve(cloud: Cloud, login: Option<Origin>, graph: Option<Origin>) -> Endpoints {
        Endpoints {
            login: login.unwrap_or_else(|| builtin_origin(cloud.login_origin())),
            graph: graph.unwrap_or_else(|| builtin_origin(cloud.graph_origin())),
            scope: cloud.scope(),
        }
    }
}

fn builtin_origin(value: &'static str) -> Origin {
    Origin::parse(value).expect("built-in cloud origins are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China];

    #[test]
    fn names_parse() {
        for name in Cloud::NAMES.split(", ") {
            assert!(Cloud::parse(name).is_some(), "{name}");
        }
    }

    #[test]
    fn parse_ignores_case() {
        assert_eq!(Cloud::parse("USGov-DoD"), Some(Cloud::UsGovDod));
    }

    #[test]
    fn unknown_cloud_rejected() {
        assert_eq!(Cloud::parse("germany"), None);
    }

    #[test]
    fn builtin_origins_parse() {
        for cloud in ALL {
            let endpoints = Endpoints::resolve(cloud, None, None);
            assert_eq!(endpoints.login.to_string(), cloud.login_origin());
            assert_eq!(endpoints.graph.to_string(), cloud.graph_origin());
        }
    }

    #[test]
    fn dod_uses_dod_graph() {
        assert_eq!(
            Cloud::UsGovDod.graph_origin(),
            "https://dod-graph.microsoft.us"
        );
    }

    #[test]
    fn china_scope_uses_china_graph() {
        assert_eq!(
            Cloud::China.scope(),
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );
    }

    #[test]
    fn override_keeps_cloud_scope() {
        let simulator = Origin::parse("http://127.0.0.1:8080").unwrap();
        let endpoints = Endpoints::resolve(Cloud::Global, None, Some(simulator.clone()));
        assert_eq!(endpoints.graph, simulator);
        assert_eq!(endpoints.scope, "https://graph.microsoft.com/.default");
    }

    #[test]
    fn login_override_keeps_graph() {
        let simulator = Origin::parse("http://127.0.0.1:8080").unwrap();
        let endpoints = Endpoints::resolve(Cloud::UsGov, Some(simulator.clone()), None);
        assert_eq!(endpoints.login, simulator);
        assert_eq!(endpoints.graph.to_string(), "https://graph.microsoft.us");
    }
}
