//! Access tokens (RFC 9068), refresh tokens, and the tenant gate in front of both.

use std::collections::BTreeSet;

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::AuthError;
use crate::secrets::{random_token, sha256_hex};
use crate::signing;
use crate::state::AuthState;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantInfo {
    pub active: bool,
    pub is_platform: bool,
    pub mfa_required: bool,
}

/// The tenant's status; `None` when there is no such tenant.
pub async fn tenant_info(pool: &PgPool, tenant: Uuid) -> Result<Option<TenantInfo>, AuthError> {
    let row: Option<(String, bool, bool)> =
        sqlx::query_as("select status, is_platform, mfa_required from auth.tenants where id = $1")
            .bind(tenant)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(status, is_platform, mfa_required)| TenantInfo {
        active: status == "active",
        is_platform,
        mfa_required,
    }))
}

/// Signs an access token; refuses for a tenant that is missing or suspended.
pub async fn issue_access(
    state: &AuthState,
    tenant: Uuid,
    subject: &str,
    client_id: &str,
    permissions: &BTreeSet<String>,
    ttl_secs: i64,
) -> Result<String, AuthError> {
    match tenant_info(&state.pool, tenant).await? {
        Some(t) if t.active => {}
        _ => {
            return Err(AuthError::oauth(
                "invalid_grant",
                "the tenant is not active",
            ));
        }
    }
    let key = signing::current(&state.pool, &state.master).await?;
    let now = Utc::now().timestamp();
    let claims = json!({
        "iss": state.issuer(),
        "sub": subject,
        "aud": state.config.auth_server.audience,
        "exp": now + ttl_secs,
        "iat": now,
        "jti": Uuid::now_v7().to_string(),
        "client_id": client_id,
        "tenant_id": tenant.to_string(),
        "permissions": permissions,
    });
    key.sign_raw(Some("at+jwt"), &claims)
        .map_err(|e| AuthError::Internal(e.to_string()))
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

/// Starts a refresh-token family (or continues one) for a user.
pub async fn issue_refresh(
    conn: &mut PgConnection,
    tenant: Uuid,
    family: Uuid,
    user_id: Uuid,
    client_id: &str,
    ttl_secs: i64,
) -> Result<String, AuthError> {
    let token = tenant_token(tenant);
    sqlx::query(
        "insert into auth.refresh_tokens (token_hash, family_id, user_id, client_id, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(sha256_hex(&token))
    .bind(family)
    .bind(user_id)
    .bind(client_id)
    .bind(ttl_secs as f64)
    .execute(conn)
    .await?;
    Ok(token)
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
}
