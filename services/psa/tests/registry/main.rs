//! The registry of modules is the platform's one list: the gateway's routes,
//! the permission catalogue, the event catalogue (AsyncAPI) and the migrated
//! schemas all follow from it. A throw-away module added here through the
//! registry alone is routed, authorised, catalogued and migrated.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use psa_authn::permissions::{BUILTIN_ROLES, PLATFORM_ONLY};
use psa_authn::{Caller, HasVerifier, Verifier};
use psa_events::catalog::{EventSpec, EventType};
use psa_http::Problem;
use psa_kernel::{Store, Tx};
use psa_runtime::{Module, Mounted, Permission, Registry, Workers};
use psa_testkit::TestApp;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

mod throwaway;

fn registry() -> Arc<Registry> {
    psa::registry().expect("the platform's modules fit together")
}

// ---- the event catalogue -------------------------------------------------

const EVENTS_DOC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../openapi/events.asyncapi.json"
);

/// `openapi/events.asyncapi.json` must be what `psa asyncapi` prints. To
/// update it: `cargo run -q -p psa -- asyncapi > openapi/events.asyncapi.json`
#[test]
fn asyncapi_document_matches_the_checked_in_copy() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_psa"))
        .arg("asyncapi")
        .output()
        .expect("psa runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(
        printed,
        psa_runtime::asyncapi::render(&registry()).unwrap(),
        "psa asyncapi prints the registry's document"
    );
    let checked_in = std::fs::read_to_string(EVENTS_DOC).unwrap_or_default();
    assert!(
        printed == checked_in,
        "openapi/events.asyncapi.json is out of date; run: cargo run -q -p psa -- asyncapi > openapi/events.asyncapi.json"
    );
}

/// The value at a local `$ref` (`#/a/b~1c`), if it resolves.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// What makes the document an AsyncAPI 3.0 document of these events: the
/// version, channels with messages, operations that point at them, message
/// payloads that are CloudEvents envelopes with a schema for `data`, and
/// every reference resolving.
fn check_asyncapi(doc: &Value, published: &[(&str, &EventSpec)]) {
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let channels = doc["channels"].as_object().expect("channels");
    let operations = doc["operations"].as_object().expect("operations");
    let messages = doc["components"]["messages"].as_object().expect("messages");
    assert!(doc["components"]["schemas"].is_object());
    let key = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };

    let mut all_refs = Vec::new();
    refs(doc, &mut all_refs);
    for r in &all_refs {
        assert!(resolve(doc, r).is_some(), "{r} resolves");
    }

    for (name, channel) in channels {
        assert!(key(name), "channel key {name}");
        assert!(channel["address"].is_string(), "{name}: address");
        let msgs = channel["messages"].as_object().expect("channel messages");
        assert!(!msgs.is_empty(), "{name} carries a message");
        for m in msgs.values() {
            let m = m["$ref"]
                .as_str()
                .and_then(|r| resolve(doc, r))
                .unwrap_or(m);
            let payload = &m["payload"];
            assert_eq!(payload["type"], "object", "{name}: payload");
            let required: BTreeSet<&str> = payload["required"]
                .as_array()
                .expect("required")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for attr in [
                "specversion",
                "id",
                "source",
                "type",
                "time",
                "subject",
                "tenantid",
                "datacontenttype",
                "data",
            ] {
                assert!(required.contains(attr), "{name}: envelope lacks {attr}");
            }
            let data = &payload["properties"]["data"];
            let schema = data["$ref"]
                .as_str()
                .and_then(|r| resolve(doc, r))
                .unwrap_or(data);
            assert!(
                schema["type"].is_string()
                    || schema["oneOf"].is_array()
                    || schema["allOf"].is_array(),
                "{name}: data has a schema"
            );
        }
    }
    for (id, op) in operations {
        assert!(key(id), "operation key {id}");
        assert!(
            matches!(op["action"].as_str(), Some("send" | "receive")),
            "{id}: action"
        );
        let channel = op["channel"]["$ref"].as_str().expect("channel ref");
        assert!(channel.starts_with("#/channels/"), "{id}: {channel}");
        for m in op["messages"].as_array().expect("operation messages") {
            let m = m["$ref"].as_str().expect("message ref");
            assert!(
                m.starts_with(&format!("{channel}/messages/")),
                "{id}: {m} is a message of its channel"
            );
        }
    }

    let listed: BTreeSet<&str> = channels.keys().map(String::as_str).collect();
    let declared: BTreeSet<&str> = published.iter().map(|(_, e)| e.name).collect();
    assert_eq!(listed, declared, "one channel per published event type");
    for (module, e) in published {
        assert!(messages.contains_key(e.name), "{} has a message", e.name);
        let send = &operations[&format!("{module}.send.{}", e.name)];
        assert_eq!(send["action"], "send");
        assert_eq!(
            messages[e.name]["payload"]["properties"]["source"]["const"],
            format!("psa/{module}")
        );
    }
}

#[test]
fn the_asyncapi_document_lists_every_published_event_type() {
    let registry = registry();
    let doc = psa_runtime::asyncapi::document(&registry).unwrap();
    let published: Vec<(&str, &EventSpec)> = registry.events().map(|(m, e)| (m.name, e)).collect();
    check_asyncapi(&doc, &published);
    // EVENTS.md's minimum for the modules there are.
    for t in [
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "contact.created",
        "contact.updated",
        "contact.deleted",
        "contract.created",
        "contract.updated",
        "ticket.created",
        "ticket.updated",
        "ticket.status_changed",
        "ticket.assigned",
        "ticket.comment_added",
        "ticket.sla_breached",
        "time_entry.logged",
        "time_entry.updated",
        "time_entry.deleted",
    ] {
        assert!(doc["channels"][t].is_object(), "{t} is catalogued");
    }
    // Tickets' projection is documented as a consumer of CRM's events.
    assert_eq!(
        doc["operations"]["tickets.receive.contract.updated"]["action"],
        "receive"
    );
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["Contract"]["properties"]["sla"].is_object());
    assert!(schemas["SlaBreached"]["properties"]["kind"].is_object());
}

/// Every binding pattern a module consumes matches some published type (a
/// typo would bind a queue that never receives anything).
#[test]
fn consumed_patterns_match_published_types() {
    let registry = registry();
    for m in registry.modules() {
        for pattern in m.consumes {
            assert!(
                registry
                    .events()
                    .any(|(_, e)| psa_runtime::asyncapi::topic_matches(pattern, e.name)),
                "{}: {pattern} matches no published event type",
                m.name
            );
        }
    }
}

// ---- routes and permissions ---------------------------------------------

/// Each module documents only paths under the prefixes it declares, so the
/// gateway routes every documented path to the module that serves it.
#[test]
fn every_documented_path_routes_to_its_module() {
    let registry = registry();
    for m in registry.modules() {
        for path in (m.openapi)().paths.paths.keys() {
            let route = registry.route(path);
            assert_eq!(
                route.map(|r| r.module),
                Some(m.name),
                "{path} of {} routes to it",
                m.name
            );
        }
    }
    assert!(registry.route("/v1/nothing").is_none());
    assert!(registry.route("/oauth/token").is_some_and(|r| r.public));
}

/// Every scope an operation documents is a registered permission.
#[test]
fn documented_scopes_are_registered_permissions() {
    let registry = registry();
    let doc = serde_json::to_value(psa_runtime::openapi::merged(registry.modules())).unwrap();
    let mut scopes = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for requirement in op["security"].as_array().into_iter().flatten() {
                for list in requirement.as_object().unwrap().values() {
                    scopes.extend(list.as_array().unwrap().iter().filter_map(Value::as_str));
                }
            }
        }
    }
    assert!(!scopes.is_empty());
    for s in scopes {
        assert!(registry.permission(s).is_some(), "{s} is registered");
    }
}

/// The gateway reaches over HTTP only modules the registry knows.
#[tokio::test]
async fn upstreams_must_name_registered_modules() {
    let mut cfg = psa_runtime::PlatformConfig::load(None).unwrap();
    let verifier = psa_runtime::serve::verifier(&cfg).unwrap();
    cfg.gateway
        .upstreams
        .insert("payroll".into(), "http://127.0.0.1:9".into());
    let Err(err) = psa_gateway::app(&cfg, registry(), &[], verifier) else {
        panic!("an unregistered upstream is refused");
    };
    assert!(
        err.to_string().contains("gateway.upstreams.payroll"),
        "{err}"
    );
}

/// The built-in roles name only registered permissions, and none of the
/// platform operator's.
#[test]
fn builtin_roles_name_registered_permissions() {
    let registry = registry();
    for p in PLATFORM_ONLY {
        assert!(registry.permission(p).is_some(), "{p} is registered");
    }
    for role in BUILTIN_ROLES {
        for p in registry.builtin_role(role).expect("a built-in role") {
            assert!(
                registry.permission(p).is_some(),
                "{role}: {p} is registered"
            );
            assert!(!PLATFORM_ONLY.contains(&p), "{role} must not hold {p}");
        }
    }
    let admin = registry.builtin_role("admin").unwrap();
    for p in registry.permissions() {
        assert!(
            admin.contains(&p.name) || PLATFORM_ONLY.contains(&p.name),
            "admin holds {}",
            p.name
        );
        assert!(!p.description.is_empty(), "{} is described", p.name);
    }
}

// ---- a throw-away module --------------------------------------------------

static WIDGETS_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/widgets/migrations");

const WIDGETS_DB: psa_db::ModuleDb = psa_db::ModuleDb {
    module: "widgets",
    schema: "widgets",
    role: "psa_widgets",
    migrator: &WIDGETS_MIGRATOR,
    platform: &[],
};

const WIDGETS_READ: Permission = Permission::new("widgets:read", "read widgets");

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema, sqlx::FromRow)]
struct Widget {
    id: Uuid,
    name: String,
}

const WIDGET_CREATED: EventType<Widget> = EventType::new("widget.created", "A widget was made.");
const WIDGET_EVENTS: &[EventSpec] = &[WIDGET_CREATED.spec()];

#[derive(Clone)]
struct WidgetsState {
    store: Store,
    verifier: Arc<Verifier>,
}

impl HasVerifier for WidgetsState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }
}

async fn list_widgets(
    State(state): State<WidgetsState>,
    caller: Caller,
) -> Result<axum::Json<Value>, Problem> {
    let mut tx = Tx::begin(&state.store, &caller, WIDGETS_READ.name).await?;
    let rows: Vec<Widget> = sqlx::query_as("select id, name from widgets.widgets order by name")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(axum::Json(json!({ "data": rows, "next_cursor": null })))
}

/// A module that exists only in this test: its crate would hold exactly this.
fn widgets() -> Module {
    Module {
        name: "widgets",
        db: WIDGETS_DB,
        routes: &["/v1/widgets"],
        public_routes: &[],
        permissions: &[WIDGETS_READ],
        publishes: WIDGET_EVENTS,
        consumes: &[],
        mount: |ctx| {
            let pool = psa_db::module_pool(&ctx.config.database, &WIDGETS_DB)?;
            let state = WidgetsState {
                store: Store::new(pool, WIDGETS_DB.schema),
                verifier: ctx.verifier.clone(),
            };
            Ok(Mounted {
                router: Router::new()
                    .route("/v1/widgets", get(list_widgets))
                    .with_state(state),
                checks: Vec::new(),
                workers: Workers::new("widgets"),
            })
        },
        openapi: utoipa::openapi::OpenApi::default,
    }
}

/// The platform's modules and one more, added by one line as a new module is.
fn with_widgets() -> Vec<Module> {
    let mut modules = psa::all_modules();
    modules.push(widgets());
    modules
}
