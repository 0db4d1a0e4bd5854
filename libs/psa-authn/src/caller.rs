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

/// A caller already verified from this request's bearer token by the same
/// process (the gateway, in front of modules mounted in-process), so that
/// the module does not verify the token a second time. Only code in the
/// process can put it on a request: extensions do not come over the wire.
#[derive(Debug, Clone)]
pub struct Verified(pub Arc<Caller>);

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
        if let Some(Verified(caller)) = parts.extensions.get::<Verified>() {
            return Ok(Caller::clone(caller));
        }
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

#[cfg(test)]
mod tests {
    use axum::http::{Request, StatusCode};

    use super::*;
    use crate::IssuerConfig;
    use crate::keys::SigningKey;

    struct State(Arc<Verifier>);

    impl HasVerifier for State {
        fn verifier(&self) -> &Arc<Verifier> {
            &self.0
        }
    }

    fn state() -> State {
        let key = SigningKey::generate();
        let issuer = IssuerConfig::new("https://issuer.test", "psa");
        State(Arc::new(
            Verifier::with_static_keys(issuer, key.jwks()).unwrap(),
        ))
    }

    #[tokio::test]
    async fn a_caller_verified_in_this_process_is_taken_as_is() {
        let caller = Caller {
            subject: "u1".into(),
            tenant_id: Some(Uuid::now_v7()),
            client_id: None,
            permissions: ["customers:read".to_owned()].into(),
        };
        let mut req = Request::new(());
        req.extensions_mut()
            .insert(Verified(Arc::new(caller.clone())));
        let (mut parts, ()) = req.into_parts();
        let got = Caller::from_request_parts(&mut parts, &state())
            .await
            .unwrap();
        assert_eq!(
            (got.subject, got.tenant_id, got.permissions),
            (caller.subject, caller.tenant_id, caller.permissions)
        );
    }

    #[tokio::test]
    async fn without_it_the_token_is_required() {
        let (mut parts, ()) = Request::new(()).into_parts();
        let err = Caller::from_request_parts(&mut parts, &state())
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNAUTHORIZED);
    }
}
