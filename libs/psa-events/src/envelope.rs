//! CloudEvents 1.0, structured mode, exactly as EVENTS.md shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: Uuid,
    /// `psa/<module>`
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub time: DateTime<Utc>,
    /// The id of the resource the event is about.
    pub subject: String,
    pub tenantid: Uuid,
    pub datacontenttype: String,
    /// The resource as GET returns it.
    pub data: serde_json::Value,
}

impl CloudEvent {
    pub fn new(
        id: Uuid,
        source: &str,
        event_type: &str,
        time: DateTime<Utc>,
        subject: &str,
        tenant: Uuid,
        data: serde_json::Value,
    ) -> Self {
        Self {
            specversion: "1.0".into(),
            id,
            source: source.into(),
            event_type: event_type.into(),
            time,
            subject: subject.into(),
            tenantid: tenant,
            datacontenttype: "application/json".into(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_the_cloudevents_attribute_names() {
        let e = CloudEvent::new(
            Uuid::now_v7(),
            "psa/crm",
            "customer.created",
            Utc::now(),
            "x",
            Uuid::now_v7(),
            serde_json::json!({"a": 1}),
        );
        let v = serde_json::to_value(&e).unwrap();
        for k in [
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
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["specversion"], "1.0");
        let back: CloudEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
