//! GraphQL for staff tools (ARCHITECTURE.md and API.md, "GraphQL"): a
//! backend-for-frontend in the gateway. Resolvers read and write through the
//! owning modules' `/v1` APIs with the caller's own credentials
//! ([`downstream`]), batched per request ([`loaders`]), bounded before
//! anything runs ([`cost`]); `/graphql` serves it ([`http`]) with
//! persisted queries and GraphiQL from the binary.

pub mod cost;
pub mod downstream;
pub mod graphiql;
pub mod http;
pub mod loaders;
pub mod measure;
pub mod page;
pub mod persisted;
pub mod schema;
pub mod types;

pub use http::Graphql;
pub use schema::{PsaSchema, schema};

/// The schema in SDL, as `openapi/schema.graphql` publishes it.
pub fn sdl() -> String {
    schema().sdl()
}
