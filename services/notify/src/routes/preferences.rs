//! `/v1/users/me/notification-preferences`: the event types a user does
//! not want to be notified of (their own, with their own token).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use psa_authn::Caller;
use psa_http::extract::Json;
use psa_kernel::docs::{BadRequest, BodyRefused, Denied, Invalid};
use psa_kernel::{Tx, with_etag};
use uuid::Uuid;

use crate::domain::{Preferences, PreferencesInput};
use crate::error::NotifyError;
use crate::repo::preferences;
use crate::state::NotifyState;

/// The caller's user id and a transaction in their tenant (403
/// `users_only` for tokens that are not a user's).
async fn as_user(state: &NotifyState, caller: &Caller) -> Result<(Uuid, Tx), NotifyError> {
    let id = Uuid::parse_str(&caller.subject).map_err(|_| NotifyError::UsersOnly)?;
    Ok((id, Tx::for_tenant(&state.store, caller.tenant()?).await?))
}

#[utoipa::path(get, path = "/v1/users/me/notification-preferences", tag = "notifications",
    responses((status = 200, body = Preferences, headers(("ETag" = String))), Denied),
    security(("bearer" = [])))]
pub async fn get_preferences(
    State(state): State<NotifyState>,
    caller: Caller,
) -> Result<Response, NotifyError> {
    let (user, mut tx) = as_user(&state, &caller).await?;
    let prefs = preferences::get(&mut tx, user).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &prefs, prefs.version))
}

/// Replaces the caller's opt-outs: `muted_event_types` (names or
/// patterns such as `ticket.*`). Messages of rules to them (as a user,
/// a role's member or an assignee) are no longer made for those types.
#[utoipa::path(put, path = "/v1/users/me/notification-preferences", tag = "notifications",
    request_body = PreferencesInput,
    responses((status = 200, body = Preferences, headers(("ETag" = String))), BadRequest, Denied,
        BodyRefused, Invalid),
    security(("bearer" = [])))]
pub async fn put_preferences(
    State(state): State<NotifyState>,
    caller: Caller,
    Json(input): Json<PreferencesInput>,
) -> Result<Response, NotifyError> {
    let (user, mut tx) = as_user(&state, &caller).await?;
    input.validate().map_err(NotifyError::Validation)?;
    let prefs = preferences::put(&mut tx, user, &input.muted_event_types).await?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, &prefs, prefs.version))
}
