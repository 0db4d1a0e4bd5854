use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use psa_http::Problem;
use uuid::Uuid;

use crate::verifier::{AuthError, Verifier};

/// Who is calling, as the verified token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub tenant_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub permissions: BTreeSet<String>,
}

impl Caller {
    /// 403 unless the caller holds `permission`.
    pub fn require(&self, permission: &str) -> Result<(), Problem> {
        if self.permissions.contains(permission) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this needs the permission {permission}"
            )))
        }
    }

    /// The caller's tenant; a token without one cannot touch tenant data.
    pub fn tenant(&self) -> Result<Uuid, Problem> {
        self.tenant_id
            .ok_or_else(|| Problem::forbidden("the token names no tenant"))
    }
}

/// Implemented by module states so the extractor finds the verifier.
pub trait HasVerifier {
    fn verifier(&self) -> &Arc<Verifier>;
}

impl<S> FromRequestParts<S> for Caller
where
    S: HasVerifier + Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(Problem::unauthorized(None, "a bearer token is required"));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized(Some("invalid_request"), "use the Bearer scheme")
            })?;
        match state.verifier().verify(token).await {
            Ok(caller) => Ok(caller),
            Err(AuthError::Unavailable(why)) => {
                tracing::warn!(reason = %why, "token keys unavailable; refusing");
                Err(Problem::service_unavailable(
                    "token verification keys are unavailable",
                    5,
                ))
            }
            Err(AuthError::Invalid(why)) => {
                tracing::info!(reason = %why, "token rejected");
                Err(Problem::unauthorized(
                    Some("invalid_token"),
                    "the bearer token is invalid or expired",
                ))
            }
        }
    }
}
