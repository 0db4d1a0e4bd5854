//! The merged OpenAPI document of all modules.

use utoipa::openapi::header::{Header, HeaderBuilder};
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
    permission_catalogue(&mut doc, modules);
    gateway_answers(&mut doc);
    doc
}

/// The `Permission` schema (`psa_kernel::docs::Permission`) lists what the
/// modules register: the catalogue auth grants from, so a client sees which
/// names a role, API key or service account may hold.
fn permission_catalogue(doc: &mut OpenApi, modules: &[Module]) {
    let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
        return;
    };
    if !schemas.contains_key("Permission") {
        return;
    }
    let mut names: Vec<&str> = modules
        .iter()
        .flat_map(|m| m.permissions.iter().map(|p| p.name))
        .collect();
    names.sort_unstable();
    names.dedup();
    schemas.insert(
        "Permission".into(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A permission the platform's modules define"))
            .enum_values(Some(names))
            .into(),
    );
}

/// What the gateway may answer to any operation, before or instead of the
/// module: 429 when the caller is over its quota, 502/503/504 when the
/// module failed, is down or timed out (503 also when a module's database
/// is). And the fields every answer through the gateway carries.
fn gateway_answers(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemBody")))
            .build()
    };
    for (name, description) in [
        (
            "BadGateway",
            "The module's answer could not be read (gateway, `bad_gateway`)",
        ),
        (
            "GatewayTimeout",
            "The module did not answer in time (gateway, `gateway_timeout`)",
        ),
    ] {
        components.responses.insert(
            name.into(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", problem())
                    .build(),
            ),
        );
    }
    let fields = rate_limit_fields();
    for (name, header) in &fields {
        components
            .headers
            .insert(name.clone(), RefOr::T(header.clone()));
    }
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let responses = &mut op.responses.responses;
            // OpenAPI requires a description; a success without one gets
            // its status's name.
            for (status, response) in responses.iter_mut() {
                if let RefOr::T(r) = response
                    && r.description.is_empty()
                {
                    r.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Success")
                        .to_owned();
                }
            }
            // Every answer carries them; the document says so where
            // clients read them: on success (and on 429, RateLimited).
            for (_, response) in responses.iter_mut().filter(|(s, _)| s.starts_with('2')) {
                if let RefOr::T(r) = response {
                    for (name, _) in &fields {
                        r.headers.entry(name.clone()).or_insert_with(|| {
                            RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
                        });
                    }
                }
            }
            for (status, component) in [
                ("429", "RateLimited"),
                ("502", "BadGateway"),
                ("503", "ServiceUnavailable"),
                ("504", "GatewayTimeout"),
            ] {
                responses
                    .entry(status.into())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
            }
        }
    }
}

/// The quota fields (API.md, "Rate limiting") and the request id.
fn rate_limit_fields() -> Vec<(String, Header)> {
    let field = |description: &str, integer: bool| {
        let schema = if integer {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
        } else {
            ObjectBuilder::new().schema_type(Type::String)
        };
        HeaderBuilder::new()
            .schema(Some(schema))
            .description(Some(description))
            .build()
    };
    vec![
        (
            "RateLimit-Policy".into(),
            field(
                "The quota that applies (gateway), e.g. `\"default\";q=1000;w=60`",
                false,
            ),
        ),
        (
            "RateLimit".into(),
            field(
                "What is left of it (gateway), e.g. `\"default\";r=999;t=1`",
                false,
            ),
        ),
        ("RateLimit-Limit".into(), field("Requests per window", true)),
        (
            "RateLimit-Remaining".into(),
            field("Requests left in the window", true),
        ),
        (
            "RateLimit-Reset".into(),
            field("Seconds until the quota is whole again", true),
        ),
        (
            "X-Request-Id".into(),
            field("The request's id, also in logs and problem bodies", false),
        ),
    ]
}

/// The document as it is checked in: pretty JSON with a final newline.
pub fn render(modules: &[Module]) -> String {
    let mut s = merged(modules).to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
