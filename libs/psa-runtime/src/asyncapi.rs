//! The event catalogue as an AsyncAPI 3.0 document, built from the registry:
//! one channel and message per event type every module publishes, the
//! CloudEvents envelope EVENTS.md fixes with a JSON Schema for `data`, a
//! `send` operation per publisher and a `receive` operation per consumer
//! whose binding patterns match the type.

use anyhow::bail;
use serde_json::{Map, Value, json};

use crate::registry::Registry;

const AMQP_BINDING_VERSION: &str = "0.3.0";

/// Whether an AMQP topic binding pattern (`*` one word, `#` any number)
/// matches a routing key.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    fn go(p: &[&str], k: &[&str]) -> bool {
        match (p.first(), k.first()) {
            (None, None) => true,
            (Some(&"#"), _) => go(&p[1..], k) || (!k.is_empty() && go(p, &k[1..])),
            (Some(&"*"), Some(_)) => go(&p[1..], &k[1..]),
            (Some(w), Some(x)) => w == x && go(&p[1..], &k[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = key.split('.').collect();
    go(&p, &k)
}

/// The CloudEvents 1.0 envelope (structured mode) of one event type.
fn envelope(source: &str, event_type: &str, data: Value) -> Value {
    json!({
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "subject", "tenantid", "datacontenttype", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {"type": "string", "format": "uuid", "description": "The event id (UUID v7), also the AMQP message_id; the same on every redelivery."},
            "source": {"type": "string", "const": source},
            "type": {"type": "string", "const": event_type},
            "time": {"type": "string", "format": "date-time", "description": "When the change was committed."},
            "subject": {"type": "string", "description": "The id of the resource the event is about."},
            "tenantid": {"type": "string", "format": "uuid"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "data": data
        }
    })
}

/// The document as a JSON value. Fails when two modules' data types share a
/// schema name but not a schema (their `$ref`s would be ambiguous).
pub fn document(registry: &Registry) -> anyhow::Result<Value> {
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    let mut schemas = Map::new();
    for (module, spec) in registry.events() {
        let schema = (spec.schema)();
        for (name, component) in &schema.components {
            let component = serde_json::to_value(component)?;
            match schemas.get(name) {
                Some(known) if *known != component => bail!(
                    "event {}: schema {name} differs from another schema of that name",
                    spec.name
                ),
                Some(_) => {}
                None => {
                    schemas.insert(name.clone(), component);
                }
            }
        }
        let data = serde_json::to_value(schema.reference())?;
        let source = format!("psa/{}", module.name);
        messages.insert(
            spec.name.into(),
            json!({
                "name": spec.name,
                "title": spec.name,
                "summary": spec.description,
                "contentType": "application/cloudevents+json",
                "payload": envelope(&source, spec.name, data),
                "bindings": {"amqp": {"messageType": spec.name, "bindingVersion": AMQP_BINDING_VERSION}}
            }),
        );
        channels.insert(
            spec.name.into(),
            json!({
                "address": spec.name,
                "description": format!("Routing key {} on the topic exchange psa.events; published by {}.", spec.name, module.name),
                "messages": {spec.name: {"$ref": format!("#/components/messages/{}", spec.name)}},
                "bindings": {"amqp": {
                    "is": "routingKey",
                    "exchange": {"name": "psa.events", "type": "topic", "durable": true, "autoDelete": false, "vhost": "/"},
                    "bindingVersion": AMQP_BINDING_VERSION
                }}
            }),
        );
        let channel = json!({"$ref": format!("#/channels/{}", spec.name)});
        let message = json!([{"$ref": format!("#/channels/{}/messages/{}", spec.name, spec.name)}]);
        let operation = |action: &str, by: &str, summary: String| {
            json!({
                "action": action,
                "channel": channel,
                "summary": summary,
                "messages": message,
                "tags": [{"name": by}]
            })
        };
        let mut send = operation(
            "send",
            module.name,
            format!(
                "{} publishes {} through its transactional outbox.",
                module.name, spec.name
            ),
        );
        send["bindings"] = json!({"amqp": {"deliveryMode": 2, "mandatory": true, "bindingVersion": AMQP_BINDING_VERSION}});
        operations.insert(format!("{}.send.{}", module.name, spec.name), send);
        for consumer in registry.modules() {
            if let Some(pattern) = consumer
                .consumes
                .iter()
                .find(|p| topic_matches(p, spec.name))
            {
                let summary = format!(
                    "{} consumes {} (bound as {pattern}), once per event id.",
                    consumer.name, spec.name
                );
                operations.insert(
                    format!("{}.receive.{}", consumer.name, spec.name),
                    operation("receive", consumer.name, summary),
                );
            }
        }
    }
    Ok(json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "PSA platform events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every event type the platform's modules publish. RabbitMQ: one durable topic exchange `psa.events`, routing key = event type; messages are persistent, `content_type: application/cloudevents+json`, `message_id` = event id, and the body is a CloudEvents 1.0 envelope in structured mode whose `data` is the resource as GET returns it (schemas below are JSON Schema). Delivery is at least once; consumers record handled ids and use `version` to ignore stale updates."
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas}
    }))
}

/// The document as it is checked in: pretty JSON with a final newline.
pub fn render(registry: &Registry) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(&document(registry)?)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_patterns() {
        assert!(topic_matches("contract.*", "contract.updated"));
        assert!(!topic_matches("contract.*", "contract.updated.late"));
        assert!(!topic_matches("contract.*", "customer.updated"));
        assert!(topic_matches("#", "a.b.c"));
        assert!(topic_matches("a.#", "a"));
        assert!(topic_matches("a.#.c", "a.b.b.c"));
        assert!(topic_matches("*.created", "ticket.created"));
        assert!(!topic_matches("*", "ticket.created"));
    }
}
