//! The merged OpenAPI document of all modules.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, ResponseBuilder,
};

use crate::module::Module;

pub fn merged(modules: &[Module]) -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("PSA platform API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Professional services automation for MSPs. Errors are RFC 9457 problem+json; \
                     lists use keyset pagination (`limit`, `cursor`, `next_cursor`); PATCH is JSON Merge Patch \
                     with `If-Match`; POST accepts `Idempotency-Key`.",
                ))
                .build(),
        )
        .build();
    for m in modules {
        doc.merge((m.openapi)());
    }
    let components = doc.components.get_or_insert_with(Default::default);
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemBody")))
            .build()
    };
    let header = |d: &str| {
        HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some(d))
            .build()
    };
    components.responses.insert(
        "RateLimited".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description("Rate limit exceeded (gateway); the request did not reach a module")
                .content("application/problem+json", problem())
                .header("Retry-After", header("seconds until a request is allowed"))
                .header(
                    "RateLimit-Policy",
                    header(
                        "IETF structured field naming the quota that refused: \"default\" (a user's \
                         or client's within its tenant), \"key\" (an API key's) or \"tenant\" (the \
                         tenant's ceiling), e.g. \"tenant\";q=6000;w=60",
                    ),
                )
                .header(
                    "RateLimit",
                    header("IETF structured field, e.g. \"tenant\";r=0;t=6"),
                )
                .build(),
        ),
    );
    components.responses.insert(
        "Unauthorized".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description("No or invalid credentials")
                .content("application/problem+json", problem())
                .header("WWW-Authenticate", header("Bearer challenge"))
                .build(),
        ),
    );
    components.responses.insert(
        "ServiceUnavailable".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description("The module serving this route is down (gateway)")
                .content("application/problem+json", problem())
                .header("Retry-After", header("seconds"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An OIDC access token (RFC 9068 at+jwt) or an API key psa_…",
                ))
                .build(),
        ),
    );
    doc
}

/// The document as it is checked in: pretty JSON with a final newline.
pub fn render(modules: &[Module]) -> String {
    let mut s = merged(modules).to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
