//! What an operation's OpenAPI description is made of, written once: the
//! problems it may answer, the headers and paging parameters it takes, the
//! merge-patch body of a PATCH and the shared value types. A handler's
//! `#[utoipa::path]` lists its success response and the problems that
//! apply, e.g. `responses((status = 201, body = Customer), docs::BadRequest,
//! docs::Denied, docs::BodyRefused, docs::Conflict, docs::Invalid)`. Every
//! problem is problem+json with a stable `code`. What the gateway adds to
//! every operation (429, 502, 503, 504, the `RateLimit` fields) the merged
//! document adds (`psa_runtime::openapi`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use psa_http::formats;
use psa_http::id_list::{self, IdList};
use psa_http::keyset::{MAX_LIMIT, PerFilters, SortField};
use psa_http::problem::{PROBLEM_JSON, ProblemBody};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses, OpenApi as _, PartialSchema, ToSchema};

use crate::Resource;

/// What a module's router starts from
/// (`OpenApiRouter::with_openapi(psa_kernel::docs::openapi())`): the schemas
/// the responses and fields below refer to, which utoipa registers for
/// `body = …` but not for `IntoResponses` types, `schema_with` fields or
/// query parameters (`IdList`, the `*_id` filters).
pub fn openapi() -> OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(components(schemas(ProblemBody, Permission, IdList)))]
    struct Components;
    let mut doc = Components::openapi();
    doc.components
        .get_or_insert_with(Default::default)
        .responses
        .extend(problem_responses());
    doc
}

/// The header every POST takes (`params(IdempotencyKey)`).
pub struct IdempotencyKey;

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header(
            "Idempotency-Key",
            "Retry-safe POST: the same key and body within 24 h return the first response; \
             the same key with another body is 422. 1 to 255 visible ASCII characters (400 \
             otherwise).",
            &formats::IDEMPOTENCY_KEY,
            255,
        )]
    }
}

fn header(name: &str, description: &str, format: &formats::Format, max: usize) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format.pattern))
                .max_length(Some(max)),
        ))
        .build()
}

/// The precondition PATCH, PUT and DELETE take (`params(IfMatch)`).
pub struct IfMatch;

impl IntoParams for IfMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header(
            "If-Match",
            "`\"<version>\"` as the `ETag` gave it (or `*`, or a list of them): 412 \
             `stale_version` when the resource has changed since; 400 when it is not `*` or \
             entity tags.",
            &formats::IF_MATCH,
            1024,
        )]
    }
}

/// The sorts a list offers, for its `sort` parameter ([`Paging`]).
pub trait Sorts {
    const SORTS: &'static [SortField];
}

impl<R: Resource> Sorts for R {
    const SORTS: &'static [SortField] = R::SORTS;
}

/// A list in booking order only (`Keyset::by_id`).
pub struct ById;

impl Sorts for ById {
    const SORTS: &'static [SortField] = &[SortField::ID];
}

fn query_param(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// The paging parameters of a list sorted by `S`'s fields
/// (`params(CustomerFilters, docs::Paging<Customer>)`): what
/// [`psa_http::keyset::PageParams`] reads, with the `sort` values the list
/// offers.
pub struct Paging<S>(PhantomData<S>);

impl<S: Sorts> IntoParams for Paging<S> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let sorts = S::SORTS
            .iter()
            .flat_map(|f| [f.name.to_owned(), format!("-{}", f.name)]);
        vec![
            query_param(
                "limit",
                "1 to 200, default 50 (400 `invalid_limit` otherwise).",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(MAX_LIMIT)),
            ),
            query_param(
                "cursor",
                "`next_cursor` of the previous page; one the list did not issue (edited, \
                 truncated, of another sort) is 400 `invalid_cursor`.",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Za-z0-9_-]+$"))
                    .max_length(Some(2048)),
            ),
            query_param(
                "sort",
                "A field, `-field` for descending (400 `invalid_sort` otherwise).",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(sorts)),
            ),
            query_param(
                "ids",
                "Batch reads: only the rows with these ids, 1 to 100 UUIDs, \
                 comma-separated (400 `invalid_ids` otherwise).",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(id_list::PATTERN))
                    .max_length(Some(id_list::MAX_LENGTH)),
            ),
            query_param(
                "updated_since",
                "Only rows changed at or after this RFC 3339 time (400 `invalid_query` \
                 otherwise); without `sort`, in the order they changed.",
                ObjectBuilder::new().schema_type(Type::String).format(Some(
                    utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::DateTime,
                    ),
                )),
            ),
        ]
    }
}

/// `per`, on a list whose filters `F` it may name
/// (`params(TicketFilters, docs::Paging<Ticket>, docs::Per<TicketFilters>)`).
pub struct Per<F>(PhantomData<F>);

impl<F: PerFilters> IntoParams for Per<F> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![query_param(
            "per",
            "Batch reads for many parents: `limit` applies to each id of the filter this \
             names, which the request gives as a list (`customer_id=a,b&per=customer_id`): \
             up to `limit` rows of each, one id's rows after another's in the order the \
             filter names them, each in the list's order (`sort`), and `next_cursor` null. \
             400 `invalid_per` for a filter the request does not give, or with `cursor`.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(F::PER.iter().copied())),
        )]
    }
}

/// Declares `$patch`, the body of a PATCH: a JSON Merge Patch (RFC 7396) of
/// `$input`, the resource's writable fields, any of which it may leave out
/// (`request_body(content = ContactPatch, content_type =
/// "application/merge-patch+json")`). Optional fields a patch may not clear
/// (`null` is 422) are named after `keep`.
#[macro_export]
macro_rules! merge_patch {
    ($vis:vis $patch:ident = $input:ty $(, keep [$($kept:literal),* $(,)?])?) => {
        #[doc = concat!("A JSON Merge Patch of [`", stringify!($input), "`] (documentation only).")]
        $vis struct $patch;

        impl utoipa::PartialSchema for $patch {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::docs::patch_of::<$input>(&[$($($kept),*)?])
            }
        }

        impl utoipa::ToSchema for $patch {
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$input as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}

/// `T`'s schema with nothing required: a merge patch names only the fields
/// to change; `null` clears an optional one, except those `kept` (nor can a
/// required one be cleared: 422).
pub fn patch_of<T: ToSchema>(kept: &[&str]) -> RefOr<Schema> {
    let mut schema = T::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.required.clear();
        for name in kept {
            if let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(*name)
                && let SchemaType::Array(types) = &field.schema_type
            {
                let types: Vec<Type> = types
                    .iter()
                    .filter(|t| **t != Type::Null)
                    .cloned()
                    .collect();
                field.schema_type = match types.as_slice() {
                    [one] => SchemaType::Type(one.clone()),
                    _ => SchemaType::from_iter(types),
                };
            }
        }
        object.description = Some(format!(
            "A JSON Merge Patch (RFC 7396) of {}: the fields to change; `null` clears an \
             optional one.",
            T::name()
        ));
    }
    schema
}

/// A permission name (`tickets:read`). The platform's document lists the
/// ones its modules register (`psa_runtime::openapi`); anything else is 422.
pub struct Permission;

impl PartialSchema for Permission {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[a-z_]+:[a-z_]+$"))
            .into()
    }
}

impl ToSchema for Permission {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Permission")
    }
}

/// At most this many permissions in one grant.
pub const PERMISSIONS_MAX: usize = 100;

/// The permissions a role, API key or service account holds
/// (`schema_with = docs::permissions`).
pub fn permissions() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("Permission"))
        .max_items(Some(PERMISSIONS_MAX))
}

/// The problems operations answer, as components of the document (each
/// operation refers to them): name, status, what it means.
const PROBLEMS: [(&str, u16, &str); 10] = [
    (
        "BadRequest",
        400,
        "Malformed: JSON that does not parse, or a query parameter or header that does not \
         (`bad_request`, `invalid_limit`, `invalid_sort`, `invalid_cursor`, `invalid_query`, \
         `invalid_ids`, `invalid_per`).",
    ),
    (
        "Unauthorized",
        401,
        "No or an invalid bearer token (`unauthorized`).",
    ),
    (
        "Forbidden",
        403,
        "The token lacks the operation's permission (`forbidden`), or its tenant may not do \
         this (see the operation).",
    ),
    (
        "NotFound",
        404,
        "The tenant has no such resource (`not_found`); another tenant's is the same.",
    ),
    (
        "NotAcceptable",
        406,
        "`Accept` names none of the representations the resource has (`not_acceptable`); \
         `available` lists them.",
    ),
    (
        "Conflict",
        409,
        "The write conflicts with the resource's state or other data; `code` names how (see \
         the operation).",
    ),
    (
        "PreconditionFailed",
        412,
        "`If-Match` names another version than the current (`stale_version`).",
    ),
    (
        "PayloadTooLarge",
        413,
        "The body is over the limit, 1 MiB by default (`body_too_large`).",
    ),
    (
        "UnsupportedMediaType",
        415,
        "The body is not of the type the operation takes (`unsupported_media_type`).",
    ),
    (
        "Invalid",
        422,
        "`validation_failed` with every bad field in `errors` (a value that does not fit its \
         field or the others, or names what the tenant does not have), or the \
         `Idempotency-Key` was used with another body.",
    ),
];

fn problem_responses() -> BTreeMap<String, RefOr<Response>> {
    PROBLEMS
        .iter()
        .map(|(name, _, description)| {
            let mut r = ResponseBuilder::new().description(*description).content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ProblemBody")))
                    .build(),
            );
            if *name == "Unauthorized" {
                r = r.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(Some(String::schema()))
                        .description(Some(
                            "`Bearer realm=\"psa\"`, with an `error` when one was sent",
                        ))
                        .build(),
                );
            }
            ((*name).to_owned(), r.build().into())
        })
        .collect()
}

/// The named problems, as references to their components.
fn refs(names: &[&str]) -> BTreeMap<String, RefOr<Response>> {
    names
        .iter()
        .filter_map(|name| PROBLEMS.iter().find(|(n, _, _)| n == name))
        .map(|(name, status, _)| {
            (
                status.to_string(),
                RefOr::Ref(Ref::from_response_name(*name)),
            )
        })
        .collect()
}

macro_rules! problems {
    ($($(#[$doc:meta])* $ty:ident = [$($name:literal),+];)*) => {
        $(
            $(#[$doc])*
            pub struct $ty;

            impl IntoResponses for $ty {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    refs(&[$($name),+])
                }
            }
        )*
    };
}

problems! {
    /// A body, query or header that does not parse.
    BadRequest = ["BadRequest"];
    /// What every authenticated operation may answer: 401 without a valid
    /// token, 403 without the permission.
    Denied = ["Unauthorized", "Forbidden"];
    /// What an operation with a JSON body may answer before reading it.
    BodyRefused = ["PayloadTooLarge", "UnsupportedMediaType"];
    /// The tenant has no such resource (or no such parent of a sub-list).
    NotFound = ["NotFound"];
    /// `Accept` asks for a representation the resource does not have.
    NotAcceptable = ["NotAcceptable"];
    /// The write conflicts with other data; `code` says how.
    Conflict = ["Conflict"];
    /// `stale_version`: `If-Match` names an older version.
    Stale = ["PreconditionFailed"];
    /// `validation_failed` with every bad field in `errors`, or an
    /// `Idempotency-Key` reused with another body.
    Invalid = ["Invalid"];
}

/// The pieces render as the document needs them.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_schemas_require_nothing() {
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        struct ThingInput {
            name: String,
            number: Option<String>,
        }
        crate::merge_patch!(ThingPatch = ThingInput, keep["number"]);
        assert_eq!(ThingPatch::name(), "ThingPatch");
        let json = serde_json::to_value(ThingPatch::schema()).unwrap();
        assert!(json.get("required").is_none(), "{json}");
        assert_eq!(json["properties"]["name"]["type"], "string");
        assert_eq!(
            json["properties"]["number"]["type"], "string",
            "kept: not null"
        );
    }

    #[test]
    fn paging_offers_each_sort_both_ways() {
        let params = Paging::<ById>::into_params(|| None);
        let sort = params.iter().find(|p| p.name == "sort").unwrap();
        let json = serde_json::to_value(sort).unwrap();
        assert_eq!(json["schema"]["enum"], serde_json::json!(["id", "-id"]));
    }

    #[test]
    fn per_offers_the_filters_it_may_name() {
        struct Filters;
        impl PerFilters for Filters {
            const PER: &'static [&'static str] = &["customer_id", "asset_id"];
            fn per_ids(&self, _: &str) -> Option<&IdList> {
                None
            }
        }
        let params = Per::<Filters>::into_params(|| None);
        let json = serde_json::to_value(&params[0]).unwrap();
        assert_eq!(json["name"], "per");
        assert_eq!(
            json["schema"]["enum"],
            serde_json::json!(["customer_id", "asset_id"])
        );
    }

    #[test]
    fn idempotency_key_pattern_is_the_servers() {
        let params = IdempotencyKey::into_params(|| None);
        let json = serde_json::to_value(&params[0]).unwrap();
        assert_eq!(json["schema"]["pattern"], formats::IDEMPOTENCY_KEY.pattern);
    }
}
