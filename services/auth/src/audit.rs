//! Security-relevant events (sign-ins, MFA changes, secrets issued or revoked,
//! role changes): who, what, when, from where. Never the secrets themselves.

use axum::http::HeaderMap;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::AuthError;

/// Where a request came from, as the proxy in front reports it.
pub fn client_ip(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .or_else(|| headers.get("x-real-ip").and_then(|v| v.to_str().ok()))
        .map(|s| s.trim().chars().take(64).collect())
}

pub struct Event<'a> {
    pub action: &'a str,
    pub actor: &'a str,
    pub target: Option<String>,
    pub success: bool,
    pub ip: Option<String>,
    pub detail: Value,
}

/// Records an event in the current (tenant) transaction.
pub async fn record(conn: &mut PgConnection, e: Event<'_>) -> Result<(), AuthError> {
    sqlx::query(
        "insert into auth.audit_events (id, action, actor, target, outcome, ip, detail) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(e.action)
    .bind(e.actor)
    .bind(e.target)
    .bind(if e.success { "success" } else { "failure" })
    .bind(e.ip)
    .bind(e.detail)
    .execute(conn)
    .await?;
    tracing::info!(
        action = e.action,
        actor = e.actor,
        success = e.success,
        "audit"
    );
    Ok(())
}

/// Records a successful action of the calling user or client.
pub async fn by_caller(
    conn: &mut PgConnection,
    caller: &psa_authn::Caller,
    headers: &HeaderMap,
    action: &str,
    target: String,
    detail: Value,
) -> Result<(), AuthError> {
    record(
        conn,
        Event {
            action,
            actor: &caller.subject,
            target: Some(target),
            success: true,
            ip: client_ip(headers),
            detail,
        },
    )
    .await
}
