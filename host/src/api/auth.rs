//! Bearer-token authentication and per-tenant authorization.
//!
//! A request's token is hashed with sha256 and compared, in constant time, with every configured
//! hash, so neither the comparison nor the configuration reveals a working token. A token
//! belongs to exactly one tenant (configuration load rejects a hash listed by two tenants), so a
//! request for another tenant's data is rejected before any data is read.

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::errors::ApiError;
use crate::config::{Config, TokenRole};

/// The caller a token identifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub tenant: String,
    pub role: TokenRole,
}

impl Principal {
    /// Returns whether this caller is an admin of its tenant.
    pub fn is_admin(&self) -> bool {
        self.role == TokenRole::Admin
    }

    /// Returns the user id a user token acts for; none for admin tokens.
    pub fn user_id(&self) -> Option<&str> {
        match &self.role {
            TokenRole::User { user_id } => Some(user_id),
            TokenRole::Admin => None,
        }
    }
}

/// Every configured token hash with its owner.
#[derive(Clone, Debug, Default)]
pub struct TokenIndex {
    entries: Vec<([u8; 32], Principal)>,
}

impl TokenIndex {
    /// Collects the tokens of every tenant in `config`.
    pub fn from_config(config: &Config) -> TokenIndex {
        let entries = config
            .tenants
            .iter()
            .flat_map(|tenant| {
                tenant.api_tokens.iter().map(|token| {
                    let principal = Principal {
                        tenant: tenant.id.clone(),
                        role: token.role.clone(),
                    };
                    (token.sha256, principal)
                })
            })
            .collect();
        TokenIndex { entries }
    }

    /// Finds the owner of `token`. Every entry is compared, so the time taken does not depend
    /// on which entry matches or how many leading bytes agree.
    fn find(&self, token: &str) -> Option<&Principal> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (hash, principal) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(principal);
            }
        }
        found
    }

    /// Authenticates the request's bearer token and checks that it belongs to `tenant`.
    ///
    /// A missing or unknown token is 401; a token of another tenant is 403 with the same
    /// message whether or not `tenant` exists, so tenant ids cannot be probed.
    pub fn authorize(&self, headers: &HeaderMap, tenant: &str) -> Result<Principal, ApiError> {
        let token = bearer_token(headers)?;
        let principal = self.find(token).ok_or_else(|| {
            unauthorized("the bearer token is not valid; check that the client uses a token configured for its tenant")
        })?;
        if principal.tenant != tenant {
            tracing::warn!(
                token_tenant = %principal.tenant,
                requested_tenant = %tenant,
                "rejected a token used for another tenant"
            );
            return Err(ApiError::forbidden(format!(
                "this token does not grant access to tenant '{tenant}'; use a token issued for that tenant"
            )));
        }
        Ok(principal.clone())
    }
}

/// Requires an admin token.
pub fn require_admin(principal: &Principal) -> Result<(), ApiError> {
    if principal.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this route needs an admin token of the tenant; the request used a user token",
        ))
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(AUTHORIZATION).ok_or_else(|| {
        unauthorized("the Authorization header is missing; send `Authorization: Bearer <token>`")
    })?;
    let text = value.to_str().map_err(|_| {
        unauthorized("the Authorization header is not ASCII; send `Authorization: Bearer <token>`")
    })?;
    let (scheme, token) = text.split_once(' ').ok_or_else(|| {
        unauthorized("the Authorization header has no token; send `Authorization: Bearer <token>`")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthorized(
            "the Authorization header is not a bearer token; send `Authorization: Bearer <token>`",
        ));
    }
    Ok(token.trim())
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Returns the lowercase hex sha256 of a token, the form `[[tenant.api_tokens]] sha256` takes.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn index() -> TokenIndex {
        let principal = Principal {
            tenant: "contoso".to_string(),
            role: TokenRole::Admin,
        };
        let hash = Sha256::digest(b"secret-admin").into();
        TokenIndex {
            entries: vec![(hash, principal)],
        }
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn known_token_is_authorized() {
        let principal = index()
            .authorize(&headers("Bearer secret-admin"), "contoso")
            .unwrap();
        assert!(principal.is_admin());
    }

    #[test]
    fn lowercase_scheme_is_accepted() {
        let result = index().authorize(&headers("bearer secret-admin"), "contoso");
        assert!(result.is_ok());
    }

    #[test]
    fn unknown_token_is_unauthorized() {
        let error = index()
            .authorize(&headers("Bearer guess"), "contoso")
            .unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn basic_scheme_is_unauthorized() {
        let error = index()
            .authorize(&headers("Basic c2VjcmV0"), "contoso")
            .unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn other_tenant_is_forbidden() {
        let error = index()
            .authorize(&headers("Bearer secret-admin"), "fabrikam")
            .unwrap_err();
        assert_eq!(error.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn hash_token_matches_sha256_hex() {
        assert_eq!(
            hash_token("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }
}
