//! The tenant transaction: one call checks the caller's permission, opens
//! a transaction on the module's pool and scopes it to the caller's tenant
//! (row-level security keys on it). Events are written through it to the
//! module's outbox, in the same transaction as the change they describe.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use psa_authn::Caller;
use psa_events::catalog::EventType;
use psa_http::Problem;
use serde::Serialize;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

/// A module's database: its pool (connected as the module's role) and its
/// schema, which holds the module's outbox and idempotency keys.
#[derive(Debug, Clone)]
pub struct Store {
    pub pool: PgPool,
    pub schema: &'static str,
    counters: Arc<OnceLock<PgPool>>,
}

/// Connections of the counter pool: each holds one short statement, so a
/// few serve many concurrent writers.
const COUNTER_CONNECTIONS: u32 = 4;

impl Store {
    pub fn new(pool: PgPool, schema: &'static str) -> Self {
        Self {
            pool,
            schema,
            counters: Arc::default(),
        }
    }

    /// The pool [`Tx::next_number`] draws on: made on first use, from the
    /// module's pool's settings, and apart from it, so that a request
    /// holding a connection of the module's pool never waits for another
    /// one of the same pool (which, with every connection so held, would
    /// never come).
    fn counters(&self) -> &PgPool {
        self.counters.get_or_init(|| {
            self.pool
                .options()
                .clone()
                .max_connections(COUNTER_CONNECTIONS)
                .connect_lazy_with((*self.pool.connect_options()).clone())
        })
    }
}

/// A transaction scoped to one tenant. Dereferences to the connection, so
/// repo functions take `&mut PgConnection` and handlers pass `&mut tx`.
pub struct Tx {
    inner: Transaction<'static, Postgres>,
    store: Store,
    tenant: Uuid,
}

impl Tx {
    /// 403 unless the caller holds `permission`; then a transaction that
    /// sees and writes only the caller's tenant's rows.
    pub async fn begin(store: &Store, caller: &Caller, permission: &str) -> Result<Tx, Problem> {
        caller.require(permission)?;
        Self::for_tenant(store, caller.tenant()?).await
    }

    /// A tenant transaction for work that is not a caller's request (a
    /// consumer applying an event, a worker acting for one tenant).
    pub async fn for_tenant(store: &Store, tenant: Uuid) -> Result<Tx, Problem> {
        let mut inner = store.pool.begin().await?;
        psa_db::set_tenant(&mut inner, tenant).await?;
        Ok(Tx {
            inner,
            store: store.clone(),
            tenant,
        })
    }

    pub fn tenant(&self) -> Uuid {
        self.tenant
    }

    pub fn schema(&self) -> &'static str {
        self.store.schema
    }

    /// The next value of the tenant's counter `sequence` (`ticket` →
    /// 1, 2, …), for readable numbers. Drawn outside this transaction, in a
    /// transaction of its own (the schema's `next_number`), so concurrent
    /// writers of one tenant do not wait for each other's commits: unique
    /// and increasing, but a number this transaction does not commit is
    /// skipped.
    ///
    /// That transaction's commit does not wait for the disk (the counter
    /// row stays locked until the commit, so a flush per number would cap a
    /// tenant's writes at the disk's flushes per second). It is safe: a
    /// write that uses the number commits after it, durably, and the log is
    /// written in order, so that commit makes the counter's durable too; a
    /// crash loses only numbers nobody committed (a gap, never a repeat).
    pub async fn next_number(&self, sequence: &'static str) -> Result<i64, sqlx::Error> {
        // Written into the SQL (one round trip for both statements, which
        // parameters would not allow): a module's constant, and a UUID.
        assert!(
            sequence
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'),
            "a sequence is named in a-z and _"
        );
        let sql = format!(
            "set local synchronous_commit = off; select {}.next_number('{}', '{sequence}')",
            self.store.schema, self.tenant
        );
        let row = sqlx::raw_sql(AssertSqlSafe(sql))
            .fetch_one(self.store.counters())
            .await?;
        row.try_get(0)
    }

    /// Records `event` about `subject` in the module's outbox; the relay
    /// publishes it once this transaction has committed.
    pub async fn emit<T: Serialize>(
        &mut self,
        event: &EventType<T>,
        subject: Uuid,
        data: &T,
    ) -> Result<Uuid, Problem> {
        Ok(psa_events::outbox::enqueue(
            &mut self.inner,
            self.store.schema,
            event.name,
            subject,
            data,
        )
        .await?)
    }

    pub async fn commit(self) -> Result<(), Problem> {
        Ok(self.inner.commit().await?)
    }
}

impl Deref for Tx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.inner
    }
}
