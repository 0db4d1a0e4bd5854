//! `/oauth/authorize`: the sign-in page (GET) and its form (POST), which
//! redirects back to the client with a single-use code.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use psa_kernel::Tx;

use super::login::{self, Credentials, Outcome};
use super::{form, page as html};
use crate::crypto::secrets::sha256_hex;
use crate::domain::oauth::{AuthorizeRequest, tenant_token};
use crate::error::AuthError;
use crate::repo;
use crate::routes::ClientIp;
use crate::state::AuthState;

pub async fn page(
    State(state): State<AuthState>,
    Query(req): Query<AuthorizeRequest>,
) -> Result<Response, AuthError> {
    req.validate(&state.config.auth_server.clients)?;
    Ok(Html(html::render(&req, "", None)).into_response())
}

pub async fn submit(
    State(state): State<AuthState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, AuthError> {
    let params = form(&headers, &body)?;
    let req: AuthorizeRequest = serde_urlencoded::from_bytes(&body)
        .map_err(|_| AuthError::oauth("invalid_request", "missing authorization parameters"))?;
    req.validate(&state.config.auth_server.clients)?;
    let field = |k: &str| {
        params
            .get(k)
            .map(String::as_str)
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let (tenant_slug, email) = (field("tenant"), field("email").to_lowercase());
    let (password, otp) = (field("password"), field("otp"));
    let credentials = Credentials {
        tenant_slug: &tenant_slug,
        email: &email,
        password: &password,
        otp: &otp,
        ip,
    };
    match login::check(&state, &credentials).await? {
        Outcome::Ok { tenant, user_id } => {
            let code = tenant_token(tenant);
            let mut tx = Tx::for_tenant(&state.store, tenant).await?;
            let ttl = Duration::seconds(state.config.auth_server.auth_code_ttl_secs);
            let new = repo::oauth::NewCode {
                code_hash: &sha256_hex(&code),
                user_id,
                client_id: &req.client_id,
                redirect_uri: &req.redirect_uri,
                code_challenge: &req.code_challenge,
                expires_at: Utc::now() + ttl,
            };
            repo::oauth::insert_code(&mut tx, &new).await?;
            tx.commit().await?;
            let mut target = url::Url::parse(&req.redirect_uri)
                .map_err(|_| AuthError::oauth("invalid_request", "bad redirect_uri"))?;
            target.query_pairs_mut().append_pair("code", &code);
            if let Some(s) = &req.state {
                target.query_pairs_mut().append_pair("state", s);
            }
            Ok(Redirect::to(target.as_str()).into_response())
        }
        Outcome::Retry {
            message,
            status,
            otp,
        } => {
            let page = html::render(&req, &tenant_slug, Some((&message, otp)));
            Ok((status, Html(page)).into_response())
        }
    }
}
