//! The write-path kernel: what every module handler does, written once.
//!
//! A handler reads top to bottom as the request happens:
//!
//! ```text
//! let mut tx = Tx::begin(&state.store, &caller, perms::TICKETS_WRITE).await?; // permission + tenant
//! let guard = match idem.guard(&mut tx, &body).await? {                      // Idempotency-Key
//!     Guarded::Replay(res) => return Ok(res),
//!     Guarded::New(guard) => guard,
//! };
//! input.validate()?;                                                          // validation
//! let row = repo::insert(&mut tx, &input).await?;                             // repo call
//! tx.emit(&events::TICKET_CREATED, row.id, &row).await?;                      // outbox record
//! let res = guard.finish(&mut tx, Stored::created(&location, &row, row.version)?).await?;
//! tx.commit().await?;                                                         // commit
//! ```
//!
//! Lists use [`psa_http::keyset`] (one parameter struct, typed cursors);
//! resources that are plain CRUD implement [`Resource`] and get list, get,
//! create, merge-patch and delete from [`resource`].

pub mod docs;
pub mod flow;
pub mod idempotency;
pub mod resource;
pub mod respond;
pub mod tx;

pub use flow::{post, read};
pub use idempotency::{Guard, Guarded, Idempotency};
pub use psa_http::id_list::IdList;
pub use psa_http::idempotency::{Sealer, StoredResponse as Stored};
pub use psa_http::keyset::{Keyset, PageParams, PerFilters, SortField, SortValue, SqlType};
pub use psa_http::pagination::Page;
pub use resource::{Deletable, Resource};
pub use respond::with_etag;
pub use tx::{Store, Tx};
