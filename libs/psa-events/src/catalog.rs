//! Typed event types. Each publishing module declares its event types once,
//! in its `events.rs` (`pub const CUSTOMER_CREATED: EventType<Customer>`):
//! the publisher encodes with it and consumers decode with the very same
//! constant, so `data` is one Rust type on both sides. The platform's
//! registry collects every module's [`EventSpec`]s into the event catalogue
//! (the AsyncAPI document).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use utoipa::ToSchema;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Ref, RefOr};

/// One event type (`customer.created`) and the Rust type of its `data`.
pub struct EventType<T> {
    /// The CloudEvents `type`, also the routing key on the bus.
    pub name: &'static str,
    /// When it is published, for the catalogue.
    pub description: &'static str,
    data: PhantomData<fn() -> T>,
}

// Not derived: a derive would require `T: Clone`/`T: Copy`.
impl<T> Clone for EventType<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for EventType<T> {}

impl<T> fmt::Debug for EventType<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EventType").field(&self.name).finish()
    }
}

impl<T> EventType<T> {
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            data: PhantomData,
        }
    }
}

/// The event type among `types` named `name`, for a consumer that handles
/// several types with one data type (`customer.created/.updated/.deleted`).
pub fn one_of<T, const N: usize>(name: &str, types: [EventType<T>; N]) -> Option<EventType<T>> {
    types.into_iter().find(|t| t.name == name)
}

/// A resource's lifecycle: its created, updated and deleted events, each
/// carrying the resource (as it was, when deleted) as data.
pub struct Lifecycle<T> {
    pub created: EventType<T>,
    pub updated: EventType<T>,
    pub deleted: EventType<T>,
}

impl<T: serde::de::DeserializeOwned> Lifecycle<T> {
    /// For an event of this lifecycle, the resource it carries and whether
    /// it was deleted; None for another event type.
    pub fn decode(
        &self,
        event_type: &str,
        data: &serde_json::Value,
    ) -> Option<Result<(T, bool), serde_json::Error>> {
        let event = one_of(event_type, [self.created, self.updated, self.deleted])?;
        Some(
            event
                .decode(data)
                .map(|resource| (resource, event.name == self.deleted.name)),
        )
    }
}

impl<T: serde::Serialize> EventType<T> {
    /// `data` as it goes into the outbox and onto the bus.
    pub fn encode(&self, data: &T) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(data)
    }
}

impl<T: serde::de::DeserializeOwned> EventType<T> {
    /// A received event's `data` as the publisher's type.
    pub fn decode(&self, data: &serde_json::Value) -> Result<T, serde_json::Error> {
        T::deserialize(data)
    }
}

impl<T: ToSchema + 'static> EventType<T> {
    /// The type-erased description the registry keeps.
    pub const fn spec(&self) -> EventSpec {
        EventSpec {
            name: self.name,
            description: self.description,
            schema: schema_of::<T>,
        }
    }
}

/// An event type as the catalogue lists it, whatever its data type.
#[derive(Clone, Copy)]
pub struct EventSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// The JSON Schema of `data`, with the component schemas it references.
    pub schema: fn() -> EventSchema,
}

impl fmt::Debug for EventSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSpec")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// The schema of an event's `data`: a reference to a named component
/// schema, and the components that it (transitively) references, in the
/// OpenAPI 3.1 dialect of JSON Schema (`$ref` to `#/components/schemas/…`).
#[derive(Clone)]
pub struct EventSchema {
    /// The component that describes `data`.
    pub name: Cow<'static, str>,
    /// `(name, schema)` for `name` itself and every schema it refers to.
    pub components: Vec<(String, RefOr<Schema>)>,
}

impl EventSchema {
    /// `{"$ref": "#/components/schemas/<name>"}`
    pub fn reference(&self) -> RefOr<Schema> {
        RefOr::Ref(Ref::from_schema_name(self.name.clone()))
    }
}

fn schema_of<T: ToSchema>() -> EventSchema {
    let name = T::name();
    let mut components = vec![(name.to_string(), T::schema())];
    T::schemas(&mut components);
    EventSchema { name, components }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize, ToSchema)]
    struct Inner {
        n: i32,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize, ToSchema)]
    struct Thing {
        name: String,
        inner: Inner,
    }

    const THING_MADE: EventType<Thing> = EventType::new("thing.made", "a thing was made");
    const SPECS: &[EventSpec] = &[THING_MADE.spec()];

    #[test]
    fn data_round_trips_through_the_event_type() {
        let thing = Thing {
            name: "x".into(),
            inner: Inner { n: 1 },
        };
        let data = THING_MADE.encode(&thing).unwrap();
        assert_eq!(data, serde_json::json!({"name": "x", "inner": {"n": 1}}));
        assert_eq!(THING_MADE.decode(&data).unwrap(), thing);
        assert!(
            THING_MADE
                .decode(&serde_json::json!({"name": "x"}))
                .is_err()
        );
    }

    #[test]
    fn the_spec_carries_the_data_schema_and_what_it_references() {
        let spec = SPECS[0];
        assert_eq!(spec.name, "thing.made");
        let schema = (spec.schema)();
        assert_eq!(schema.name, "Thing");
        let names: Vec<&str> = schema.components.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Thing", "Inner"]);
        let reference = serde_json::to_value(schema.reference()).unwrap();
        assert_eq!(reference["$ref"], "#/components/schemas/Thing");
    }
}
