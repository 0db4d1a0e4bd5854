//! Staff sign-in: the server-rendered form and the credential check behind
//! it, with growing delays and a temporary lockout after repeated failures.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::error::AuthError;
use crate::oauth::AuthorizeRequest;
use crate::secrets::{hash_secret, verify_secret};
use crate::state::AuthState;
use crate::{mfa, tokens};

pub enum Outcome {
    Ok {
        tenant: Uuid,
        user_id: Uuid,
    },
    Retry {
        message: String,
        status: StatusCode,
        otp: bool,
    },
}

fn retry(message: &str, status: StatusCode, otp: bool) -> Outcome {
    Outcome::Retry {
        message: message.to_owned(),
        status,
        otp,
    }
}

/// A hash to verify against when the user does not exist, so that unknown
/// and known e-mail addresses take the same time.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_secret("not a real password"))
}

pub async fn check(
    state: &AuthState,
    tenant_slug: &str,
    email: &str,
    password: &str,
    otp: &str,
    ip: Option<String>,
) -> Result<Outcome, AuthError> {
    let wrong = || {
        retry(
            "Wrong company, e-mail or password.",
            StatusCode::UNAUTHORIZED,
            false,
        )
    };
    let tenant: Option<Uuid> =
        sqlx::query_scalar("select id from auth.tenants where slug = $1 and status = 'active'")
            .bind(tenant_slug)
            .fetch_optional(&state.pool)
            .await?;
    let Some(tenant) = tenant else {
        verify_secret(password, dummy_hash());
        return Ok(wrong());
    };
    let info = tokens::tenant_info(&state.pool, tenant).await?;
    let cfg = &state.config.auth_server;
    let mut tx = psa_db::begin_tenant(&state.pool, tenant).await?;
    type Row = (
        Uuid,
        String,
        Option<String>,
        i32,
        Option<chrono::DateTime<Utc>>,
        bool,
    );
    let row: Option<Row> = sqlx::query_as(
        "select id, status, password_hash, failed_logins, next_login_at, totp_confirmed from auth.users where email = $1 for update",
    )
    .bind(email)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, status, hash, failures, next_at, totp_on)) = row else {
        verify_secret(password, dummy_hash());
        audit::record(
            &mut tx,
            Event {
                action: "sign_in",
                actor: email,
                target: None,
                success: false,
                ip,
                detail: json!({"reason": "unknown user"}),
            },
        )
        .await?;
        tx.commit().await?;
        return Ok(wrong());
    };
    if let Some(at) = next_at.filter(|at| *at > Utc::now()) {
        let secs = (at - Utc::now()).num_seconds().max(1);
        audit::record(
            &mut tx,
            Event {
                action: "sign_in",
                actor: email,
                target: Some(user_id.to_string()),
                success: false,
                ip,
                detail: json!({"reason": "throttled"}),
            },
        )
        .await?;
        tx.commit().await?;
        return Ok(retry(
            &format!("Too many failed attempts. Try again in {secs} seconds."),
            StatusCode::TOO_MANY_REQUESTS,
            false,
        ));
    }
    let password_ok = hash.as_deref().is_some_and(|h| verify_secret(password, h));
    if !password_ok || status != "active" {
        let failures = failures + 1;
        let delay = if failures >= cfg.login_lockout_after {
            Some(Duration::seconds(cfg.login_lockout_secs))
        } else if failures >= cfg.login_failures_before_delay {
            Some(Duration::seconds(
                1i64 << (failures - cfg.login_failures_before_delay).min(6),
            ))
        } else {
            None
        };
        sqlx::query("update auth.users set failed_logins = $2, next_login_at = $3 where id = $1")
            .bind(user_id)
            .bind(failures)
            .bind(delay.map(|d| Utc::now() + d))
            .execute(&mut *tx)
            .await?;
        let reason = if status != "active" {
            "user suspended"
        } else {
            "wrong password"
        };
        audit::record(
            &mut tx,
            Event {
                action: "sign_in",
                actor: email,
                target: Some(user_id.to_string()),
                success: false,
                ip,
                detail: json!({"reason": reason, "failures": failures}),
            },
        )
        .await?;
        tx.commit().await?;
        return Ok(wrong());
    }
    if totp_on {
        if otp.is_empty() {
            tx.commit().await?;
            return Ok(retry(
                "Enter the code from your authenticator app or a recovery code.",
                StatusCode::OK,
                true,
            ));
        }
        if !mfa::check_code(&mut tx, state, user_id, otp).await? {
            audit::record(
                &mut tx,
                Event {
                    action: "sign_in",
                    actor: email,
                    target: Some(user_id.to_string()),
                    success: false,
                    ip,
                    detail: json!({"reason": "wrong second factor"}),
                },
            )
            .await?;
            tx.commit().await?;
            return Ok(retry(
                "That code is not valid (each code works once).",
                StatusCode::UNAUTHORIZED,
                true,
            ));
        }
    } else if info.is_some_and(|t| t.mfa_required) {
        tx.commit().await?;
        return Ok(retry(
            "Your organisation requires two-factor sign-in; ask an administrator to set it up.",
            StatusCode::FORBIDDEN,
            false,
        ));
    }
    sqlx::query("update auth.users set failed_logins = 0, next_login_at = null where id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        Event {
            action: "sign_in",
            actor: email,
            target: Some(user_id.to_string()),
            success: true,
            ip,
            detail: json!({"mfa": totp_on}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Ok { tenant, user_id })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The sign-in form; the authorization request rides along in hidden fields.
pub fn page(req: &AuthorizeRequest, tenant: &str, message: Option<(&str, bool)>) -> String {
    let hidden: String = [
        ("response_type", Some(req.response_type.as_str())),
        ("client_id", Some(req.client_id.as_str())),
        ("redirect_uri", Some(req.redirect_uri.as_str())),
        ("code_challenge", Some(req.code_challenge.as_str())),
        (
            "code_challenge_method",
            Some(req.code_challenge_method.as_str()),
        ),
        ("state", req.state.as_deref()),
        ("scope", req.scope.as_deref()),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
    })
    .collect();
    let (notice, otp) = message.map_or((String::new(), false), |(m, otp)| {
        (format!("<p class=\"notice\">{}</p>", esc(m)), otp)
    });
    let otp_field = if otp {
        "<label>Authenticator or recovery code <input name=\"otp\" autocomplete=\"one-time-code\" autofocus></label>"
    } else {
        "<label>Authenticator code (if enabled) <input name=\"otp\" autocomplete=\"one-time-code\"></label>"
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in · PSA</title>\
<meta name=\"viewport\" content=\"width=device-width\"><style>body{{font:16px system-ui;max-width:22rem;margin:4rem auto}}\
label{{display:block;margin:.8rem 0}}input{{display:block;width:100%;padding:.4rem}}.notice{{color:#a00}}</style></head>\
<body><h1>Sign in</h1>{notice}<form method=\"post\" action=\"/oauth/authorize\">{hidden}\
<label>Company ID <input name=\"tenant\" value=\"{}\" required></label>\
<label>E-mail <input name=\"email\" type=\"email\" autocomplete=\"username\" required></label>\
<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
{otp_field}<button type=\"submit\">Sign in</button></form></body></html>",
        esc(tenant)
    )
}
