//! RabbitMQ as tests reach it directly (around any fault proxy): a bus with
//! an app's prefix and throw-away topology, and reading what arrived.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use lapin::options::{BasicAckOptions, BasicGetOptions};
use psa_events::{Bus, BusConfig, CloudEvent};

use crate::TestApp;

pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// The broker tests use: `PSA_EVENTS__AMQP_URL` when set (e.g. a fresh
/// vhost), else [`AMQP`].
pub fn amqp_url() -> String {
    std::env::var("PSA_EVENTS__AMQP_URL").unwrap_or_else(|_| AMQP.into())
}

/// `host:port` of a URL's server.
fn addr_of(url: &str) -> std::net::SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split('/').next().unwrap_or(host);
    host.parse().expect("the server's address is host:port")
}

/// `host:port` of that broker.
pub fn amqp_addr() -> std::net::SocketAddr {
    addr_of(&amqp_url())
}

/// The broker's URL (credentials and vhost kept) reached through `via`,
/// e.g. a fault proxy in front of it.
pub fn amqp_url_via(via: std::net::SocketAddr) -> String {
    amqp_url().replacen(&amqp_addr().to_string(), &via.to_string(), 1)
}

/// `host:port` of the tests' Redis.
pub fn redis_addr() -> std::net::SocketAddr {
    addr_of(&redis_url())
}

/// The tests' Redis URL (its database kept) reached through `via`.
pub fn redis_url_via(via: std::net::SocketAddr) -> String {
    redis_url().replacen(&redis_addr().to_string(), &via.to_string(), 1)
}

/// The Redis the gateway's limiter uses in tests
/// (`PSA_GATEWAY__RATE_LIMIT__REDIS_URL`, else the local default).
pub fn redis_url() -> String {
    std::env::var("PSA_GATEWAY__RATE_LIMIT__REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

impl TestApp {
    /// A bus straight to RabbitMQ (around any fault proxy) with this app's
    /// prefix and throw-away topology; the app deletes its archive stream
    /// when dropped.
    pub fn bus(&self) -> Bus {
        self.used_bus.store(true, Ordering::SeqCst);
        Bus::new(BusConfig {
            url: amqp_url(),
            timeout: Duration::from_secs(5),
            ..self.config.events.bus()
        })
    }
}

/// Takes (and acks) the events arriving in `queue` until `done` says enough
/// or `within` has passed; asserts each message's id is its event's id.
pub async fn take(
    bus: &Bus,
    queue: &str,
    within: Duration,
    done: impl Fn(&[CloudEvent]) -> bool,
) -> Vec<CloudEvent> {
    let ch = bus.channel().await.expect("RabbitMQ");
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while !done(&got) && Instant::now() < deadline {
        match ch
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .expect("basic.get")
        {
            Some(m) => {
                let event: CloudEvent =
                    serde_json::from_slice(&m.delivery.data).expect("a CloudEvent");
                assert_eq!(
                    m.delivery
                        .properties
                        .message_id()
                        .as_ref()
                        .map(|s| s.to_string()),
                    Some(event.id.to_string()),
                    "message_id is the event id"
                );
                m.delivery
                    .ack(BasicAckOptions::default())
                    .await
                    .expect("ack");
                got.push(event);
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    got
}

/// Takes events until `want` arrived or `within` has passed.
pub async fn take_n(bus: &Bus, queue: &str, want: usize, within: Duration) -> Vec<CloudEvent> {
    take(bus, queue, within, |got| got.len() >= want).await
}

/// A new event of `tenant`, as a module would publish it now.
pub fn event(tenant: uuid::Uuid, event_type: &str, data: serde_json::Value) -> CloudEvent {
    CloudEvent::new(
        uuid::Uuid::now_v7(),
        "psa/test",
        event_type,
        chrono::Utc::now(),
        "subject",
        tenant,
        data,
    )
}
