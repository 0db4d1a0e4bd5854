//! The gateway's own API.

pub mod audit_log;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes as r;

use crate::state::GatewayState;

pub fn routes() -> OpenApiRouter<GatewayState> {
    OpenApiRouter::new().routes(r!(audit_log::list))
}

pub fn router(state: GatewayState) -> Router {
    routes().split_for_parts().0.with_state(state)
}
