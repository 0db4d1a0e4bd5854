//! The OAuth 2.0 side of the issuer: what the token endpoint answers, what
//! an authorization request must hold, PKCE, scopes, and the opaque
//! credentials (codes, refresh tokens) that name their tenant.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use psa_runtime::config::OAuthClient;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::crypto::secrets::random_token;
use crate::error::AuthError;

pub const API_KEY_TOKEN_TYPE: &str = "urn:psa:token-type:api-key";
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// For API-key exchanges: the key's own rate limit, for the gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_minute: Option<i32>,
}

impl TokenResponse {
    pub fn bearer(
        access_token: String,
        expires_in: i64,
        permissions: BTreeSet<String>,
        refresh_token: Option<String>,
    ) -> Self {
        Self {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token,
            scope: permissions.into_iter().collect::<Vec<_>>().join(" "),
            rate_limit_per_minute: None,
        }
    }
}

/// The parameters an authorization request carries through the sign-in form.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuthorizeRequest {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl AuthorizeRequest {
    /// Checks the request against the registered clients. Errors here are
    /// shown, never redirected: the redirect URI is not trusted yet.
    pub fn validate(&self, clients: &[OAuthClient]) -> Result<(), AuthError> {
        let client = clients
            .iter()
            .find(|c| c.client_id == self.client_id)
            .ok_or_else(|| AuthError::oauth("unauthorized_client", "unknown client_id"))?;
        if !client.redirect_uris.contains(&self.redirect_uri) {
            return Err(AuthError::oauth(
                "invalid_request",
                "redirect_uri is not registered for this client",
            ));
        }
        if self.response_type != "code" {
            return Err(AuthError::oauth(
                "unsupported_response_type",
                "only response_type=code",
            ));
        }
        if self.code_challenge_method != "S256" || self.code_challenge.len() < 43 {
            return Err(AuthError::oauth(
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required",
            ));
        }
        Ok(())
    }
}

/// The S256 code challenge of a PKCE verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Narrows granted permissions to a requested `scope`, if any.
pub fn narrow(
    granted: BTreeSet<String>,
    scope: Option<&str>,
) -> Result<BTreeSet<String>, AuthError> {
    let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
        return Ok(granted);
    };
    let wanted: BTreeSet<String> = scope.split_whitespace().map(str::to_owned).collect();
    if !wanted.is_subset(&granted) {
        return Err(AuthError::oauth(
            "invalid_scope",
            "the scope asks for permissions the client does not have",
        ));
    }
    Ok(wanted)
}

/// Opaque credentials that name their tenant: `<tenant hex>.<random>`. The
/// tenant part is not secret; it scopes the lookup under row-level security.
pub fn tenant_token(tenant: Uuid) -> String {
    format!("{}.{}", tenant.simple(), random_token())
}

pub fn tenant_of(token: &str) -> Option<Uuid> {
    let (t, rest) = token.split_once('.')?;
    if rest.is_empty() || t.len() != 32 {
        return None;
    }
    Uuid::try_parse(t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_tokens_round_trip() {
        let t = Uuid::now_v7();
        assert_eq!(tenant_of(&tenant_token(t)), Some(t));
        assert_eq!(tenant_of("nonsense"), None);
        assert_eq!(tenant_of("abc.def"), None);
        assert_eq!(tenant_of(&format!("{}.", t.simple())), None);
    }

    #[test]
    fn scope_narrows_but_never_widens() {
        let granted: BTreeSet<String> = ["a:read", "a:write"].map(String::from).into();
        assert_eq!(narrow(granted.clone(), None).unwrap(), granted);
        assert_eq!(narrow(granted.clone(), Some(" ")).unwrap(), granted);
        assert_eq!(
            narrow(granted.clone(), Some("a:read")).unwrap(),
            ["a:read".to_owned()].into()
        );
        assert!(narrow(granted, Some("a:read b:read")).is_err());
    }
}
