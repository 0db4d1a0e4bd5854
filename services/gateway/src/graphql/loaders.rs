//! Batched reads, one data loader per GraphQL request (never shared: its
//! cache holds what one caller may see). Loads of the same kind made while
//! a level of the query resolves become one list call: objects by
//! `ids=a,b,…`, children by `<parent>_id=a,b,…&per=<parent>_id` (the first
//! `limit` children of each parent).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use futures::StreamExt;
use futures::future::{BoxFuture, join_all};
use futures::stream::FuturesUnordered;
use futures::task::{ArcWake, AtomicWaker};
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::downstream::{Downstream, Failure};

/// A request's loaders, and what runs their fetches ([`Fetches::alongside`]
/// the query's execution).
pub fn per_request(downstream: Arc<Downstream>) -> (DataLoader<Rest, HashMapCache>, Fetches) {
    let (tx, rx) = mpsc::unbounded_channel::<BoxFuture<'static, ()>>();
    let loaders = DataLoader::with_cache(
        Rest { downstream },
        move |fetch: BoxFuture<'static, ()>| {
            // The receiver lives as long as the request's execution.
            let _ = tx.send(fetch);
        },
        HashMapCache::default(),
    )
    // The batch is complete when the query has gone as far as it can
    // (below), not after a time.
    .delay(Duration::ZERO);
    (loaders, Fetches { rx })
}

/// The fetches of a request's loaders.
///
/// async-graphql's `DataLoader` hands each batch to a spawner a moment
/// after its first key. Spawned onto the runtime, a batch could start while
/// the resolvers of the same level are still queueing keys (a level of 50
/// customers is resolved over more than one poll: futures' combinators
/// yield every 32 futures), splitting one level's children into several
/// calls. Here the fetches run in the request's own task and start only
/// when the query is waiting for them — it returned `Pending` without
/// waking itself — so every key a level queues is in its batch: one call
/// per type and level, whatever the machine's load.
pub struct Fetches {
    rx: mpsc::UnboundedReceiver<BoxFuture<'static, ()>>,
}

#[derive(Default)]
struct Nudge {
    woken: AtomicBool,
    outer: AtomicWaker,
}

impl ArcWake for Nudge {
    fn wake_by_ref(nudge: &Arc<Self>) {
        nudge.woken.store(true, Ordering::SeqCst);
        nudge.outer.wake();
    }
}

impl Fetches {
    /// Runs `execute` to its end, with the fetches it asks for.
    pub async fn alongside<R>(mut self, execute: impl Future<Output = R>) -> R {
        let nudge = Arc::new(Nudge::default());
        let waker = futures::task::waker(nudge.clone());
        let mut execute = std::pin::pin!(execute);
        let mut running = FuturesUnordered::new();
        std::future::poll_fn(move |cx| {
            nudge.outer.register(cx.waker());
            nudge.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(r) = execute.as_mut().poll(&mut Context::from_waker(&waker)) {
                return Poll::Ready(r);
            }
            if nudge.woken.load(Ordering::SeqCst) {
                // It yielded to let others run, and may queue more keys
                // when polled again (which the wake above has asked for).
                return Poll::Pending;
            }
            while let Ok(fetch) = self.rx.try_recv() {
                running.push(fetch);
            }
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
            Poll::Pending
        })
        .await
    }
}

/// The most ids one list call names (the modules' `ids=` and `*_id=` limit).
const BATCH: usize = 100;

/// What a resolver asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// One object of the list at `path`, by id.
    ById { path: &'static str, id: Uuid },
    /// The first `limit` rows of the list at `path` whose `column` is
    /// `parent`, with the list's other filters `filter` (a query string).
    Children {
        path: &'static str,
        column: &'static str,
        parent: Uuid,
        filter: String,
        limit: u32,
    },
}

/// What each key yields: the object (`Value::Null` when there is none) or
/// the children (an array); a failure belongs to its key alone, so a module
/// that is down fails only the fields it serves.
pub type Loaded = Result<Value, Failure>;

pub struct Rest {
    pub downstream: Arc<Downstream>,
}

/// The keys of one list call: the same list, filters and page size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Group {
    ById(&'static str),
    Children(&'static str, &'static str, String, u32),
}

fn group_of(key: &Key) -> (Group, Uuid) {
    match key {
        Key::ById { path, id } => (Group::ById(path), *id),
        Key::Children {
            path,
            column,
            parent,
            filter,
            limit,
        } => (
            Group::Children(path, column, filter.clone(), *limit),
            *parent,
        ),
    }
}

fn joined(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl Rest {
    /// One list call for a chunk of a group: its rows by the id they answer.
    async fn fetch(&self, group: &Group, ids: &[Uuid]) -> Result<Vec<(Uuid, Value)>, Failure> {
        let list = ids.len();
        let (path, column) = match group {
            Group::ById(path) => (
                format!("{path}?ids={}&limit={}", joined(ids), list.max(1)),
                "id",
            ),
            Group::Children(path, column, filter, limit) => {
                let mut q = format!("{path}?{column}={}&per={column}&limit={limit}", joined(ids));
                if !filter.is_empty() {
                    q.push('&');
                    q.push_str(filter);
                }
                (q, *column)
            }
        };
        let body = self.downstream.get(&path).await?;
        let rows = match body.get("data") {
            Some(Value::Array(rows)) => rows.clone(),
            _ => {
                return Err(Failure::new("INTERNAL", "a list answered without data"));
            }
        };
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let id = row.get(column)?.as_str()?.parse::<Uuid>().ok()?;
                Some((id, row))
            })
            .collect())
    }
}

impl Loader<Key> for Rest {
    type Value = Loaded;
    type Error = std::convert::Infallible;

    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Loaded>, Self::Error> {
        let mut groups: BTreeMap<Group, Vec<Uuid>> = BTreeMap::new();
        for key in keys {
            let (group, id) = group_of(key);
            let ids = groups.entry(group).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let calls: Vec<(Group, Vec<Uuid>)> = groups
            .into_iter()
            .flat_map(|(g, ids)| {
                ids.chunks(BATCH)
                    .map(|c| (g.clone(), c.to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let answers = join_all(calls.iter().map(|(g, ids)| self.fetch(g, ids))).await;
        let mut by_group: HashMap<(Group, Uuid), Loaded> = HashMap::new();
        for ((group, ids), answer) in calls.into_iter().zip(answers) {
            match answer {
                Ok(rows) => {
                    for id in &ids {
                        let empty = match group {
                            Group::ById(_) => Value::Null,
                            Group::Children(..) => Value::Array(Vec::new()),
                        };
                        by_group.insert((group.clone(), *id), Ok(empty));
                    }
                    for (id, row) in rows {
                        match by_group.get_mut(&(group.clone(), id)) {
                            Some(Ok(Value::Array(children))) => children.push(row),
                            Some(Ok(slot)) => *slot = row,
                            _ => {}
                        }
                    }
                }
                Err(f) => {
                    for id in ids {
                        by_group.insert((group.clone(), id), Err(f.clone()));
                    }
                }
            }
        }
        Ok(keys
            .iter()
            .map(|k| {
                let answer = by_group
                    .get(&group_of(k))
                    .cloned()
                    .unwrap_or(Ok(Value::Null));
                (k.clone(), answer)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_one_list_and_filter_share_a_group() {
        let a = Key::Children {
            path: "/v1/tickets",
            column: "customer_id",
            parent: Uuid::now_v7(),
            filter: "status=open".into(),
            limit: 11,
        };
        let mut b = a.clone();
        if let Key::Children { parent, .. } = &mut b {
            *parent = Uuid::now_v7();
        }
        assert_eq!(group_of(&a).0, group_of(&b).0);
        let mut c = a.clone();
        if let Key::Children { filter, .. } = &mut c {
            *filter = "status=new".into();
        }
        assert_ne!(group_of(&a).0, group_of(&c).0);
        assert_eq!(joined(&[Uuid::nil(), Uuid::nil()]).matches(',').count(), 1);
    }
}
