//! Access tokens (RFC 9068) and refresh tokens, and the tenant gate in front
//! of both: a missing or suspended tenant gets none.

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::secrets::sha256_hex;
use super::signing;
use crate::domain::oauth::tenant_token;
use crate::error::AuthError;
use crate::repo::{oauth, tenants};
use crate::state::AuthState;

/// Signs an access token for `subject` with these permissions.
pub async fn issue_access(
    state: &AuthState,
    tenant: Uuid,
    subject: &str,
    client_id: &str,
    permissions: &BTreeSet<String>,
    ttl_secs: i64,
) -> Result<String, AuthError> {
    match tenants::info(&state.store.pool, tenant).await? {
        Some(t) if t.active => {}
        _ => {
            return Err(AuthError::oauth(
                "invalid_grant",
                "the tenant is not active",
            ));
        }
    }
    let key = signing::current(&state.store.pool, &state.master).await?;
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

/// A refresh token of `family` (a new family at sign-in, the same one on
/// each rotation) for a user; stored as its hash.
pub async fn issue_refresh(
    conn: &mut PgConnection,
    tenant: Uuid,
    family: Uuid,
    user_id: Uuid,
    client_id: &str,
    ttl_secs: i64,
) -> Result<String, AuthError> {
    let token = tenant_token(tenant);
    oauth::insert_refresh(
        conn,
        &oauth::NewRefresh {
            token_hash: &sha256_hex(&token),
            family,
            user_id,
            client_id,
            ttl_secs,
        },
    )
    .await?;
    Ok(token)
}
