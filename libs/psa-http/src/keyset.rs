//! Keyset pagination for every list: one parameter struct, one parser, one
//! query builder. A page is `limit` rows after the cursor in `(sort field,
//! id)` order (the sort field alone when it is unique); the cursor holds
//! where the previous page ended, the sort it was made for and a checksum,
//! so an edited, truncated or foreign cursor is a 400 `invalid_cursor` and
//! never reaches the database as a bad value.
//!
//! Each page is one range of an index on `(tenant_id, sort field, id)` (or
//! on the unique column): a list's migrations give every sort it offers
//! such an index, and one led by the filter's column(s) for each selective
//! filter, so that a page costs the same in a tenant of any size
//! (`services/psa/tests/plans.rs` checks the plans).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::{Execute, FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

pub use crate::id_list::IDS_MAX;
use crate::id_list::{IdList, parse_ids};
use crate::pagination::Page;
use crate::problem::Problem;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The SQL type of a sortable column: a cursor's value must parse as it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Uuid,
    Text,
    Timestamptz,
    Date,
    BigInt,
    Numeric,
}

/// A column a list may be sorted by. `name` is a constant of the module,
/// never input, so it may be written into SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortField {
    pub name: &'static str,
    pub sql_type: SqlType,
    /// No two rows of a tenant share a value: the column orders the rows
    /// alone, without `id` to break ties (so its unique index serves it).
    pub unique: bool,
}

impl SortField {
    pub const fn new(name: &'static str, sql_type: SqlType) -> Self {
        Self {
            name,
            sql_type,
            unique: false,
        }
    }
    /// A column unique within a tenant (a number, an email).
    pub const fn unique(name: &'static str, sql_type: SqlType) -> Self {
        Self {
            name,
            sql_type,
            unique: true,
        }
    }
    pub const ID: SortField = SortField::unique("id", SqlType::Uuid);
    pub const CREATED_AT: SortField = SortField::new("created_at", SqlType::Timestamptz);
    pub const UPDATED_AT: SortField = SortField::new("updated_at", SqlType::Timestamptz);
}

/// A row's value of the sort column, read from the typed row (no JSON round trip).
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Uuid(Uuid),
    Text(String),
    Time(DateTime<Utc>),
    Date(NaiveDate),
    BigInt(i64),
    Numeric(Decimal),
}

impl SortValue {
    fn encode(&self) -> String {
        match self {
            SortValue::Uuid(u) => u.to_string(),
            SortValue::Text(s) => s.clone(),
            SortValue::Time(t) => t.to_rfc3339_opts(SecondsFormat::Micros, true),
            SortValue::Date(d) => d.to_string(),
            SortValue::BigInt(n) => n.to_string(),
            SortValue::Numeric(n) => n.to_string(),
        }
    }

    fn decode(sql_type: SqlType, raw: &str) -> Option<Self> {
        Some(match sql_type {
            SqlType::Uuid => SortValue::Uuid(Uuid::try_parse(raw).ok()?),
            SqlType::Text => SortValue::Text(raw.to_owned()),
            SqlType::Timestamptz => {
                SortValue::Time(DateTime::parse_from_rfc3339(raw).ok()?.with_timezone(&Utc))
            }
            SqlType::Date => SortValue::Date(raw.parse().ok()?),
            SqlType::BigInt => SortValue::BigInt(raw.parse().ok()?),
            SqlType::Numeric => SortValue::Numeric(raw.parse().ok()?),
        })
    }

    fn push_bind(self, qb: &mut QueryBuilder<Postgres>) {
        match self {
            SortValue::Uuid(v) => qb.push_bind(v),
            SortValue::Text(v) => qb.push_bind(v),
            SortValue::Time(v) => qb.push_bind(v),
            SortValue::Date(v) => qb.push_bind(v),
            SortValue::BigInt(v) => qb.push_bind(v),
            SortValue::Numeric(v) => qb.push_bind(v),
        };
    }
}

fn invalid_cursor() -> Problem {
    Problem::bad_request(
        "the cursor is not one this list issued (edited, truncated or from another sort)",
    )
    .with_code("invalid_cursor")
}

/// What a cursor carries: `[sort, value, id, checksum]` as base64url JSON.
fn checksum(sort: &str, value: &str, id: &Uuid) -> String {
    let mut h = Sha256::new();
    for part in [sort.as_bytes(), &[0], value.as_bytes(), &[0], id.as_bytes()] {
        h.update(part);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn encode_cursor(sort: &str, value: &SortValue, id: Uuid) -> String {
    let v = value.encode();
    let sum = checksum(sort, &v, &id);
    let json = serde_json::json!([sort, v, id, sum]);
    URL_SAFE_NO_PAD.encode(json.to_string())
}

fn decode_cursor(raw: &str) -> Result<(String, String, Uuid), Problem> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid_cursor())?;
    let (sort, value, id, sum): (String, String, Uuid, String) =
        serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if checksum(&sort, &value, &id) != sum {
        return Err(invalid_cursor());
    }
    Ok((sort, value, id))
}

/// The paging parameters every list takes. Parsed by hand so that each bad
/// value gets its own 400 with a code.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 200, default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
    /// A field name, `-field` for descending (the fields each list offers).
    #[param(max_length = 64)]
    pub sort: Option<String>,
    /// Only rows changed at or after this RFC 3339 time; without `sort`,
    /// they come in the order they changed (`updated_at`) where the list
    /// offers that sort.
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_since: Option<String>,
    /// Batch reads: only these rows, at most [`IDS_MAX`] ids, comma-separated.
    #[param(max_length = 3699)]
    pub ids: Option<String>,
    /// Read per value of this `*_id` filter ([`PerFilters`]): `limit`
    /// rows of each.
    #[param(max_length = 64)]
    pub per: Option<String>,
}

/// The `*_id` filters of a list that it can be read per value of
/// (`per=customer_id`: the first `limit` rows of each customer named by
/// `customer_id=a,b,…`, in one request), for lists of children that a
/// client (the GraphQL layer) reads for many parents at once.
pub trait PerFilters {
    /// The filters `per` may name. Each is a constant of the module and
    /// the name of the column it filters, so it may be written into SQL.
    const PER: &'static [&'static str];
    /// The ids the request gives the filter `name` (one of [`Self::PER`]).
    /// The one `per` names is then the per join's, not the select's
    /// (`IdList::push_filter`): call [`PageParams::keyset_per`] before
    /// building the select.
    fn per_ids(&self, name: &str) -> Option<&IdList>;
}

/// Implements [`PerFilters`] for a list's filters struct whose named
/// fields are `Option<IdList>` filters, each named as its column:
/// `psa_http::per_filters!(TicketFilters: customer_id, contact_id, asset_id);`
#[macro_export]
macro_rules! per_filters {
    ($filters:ty: $($field:ident),+ $(,)?) => {
        impl $crate::keyset::PerFilters for $filters {
            const PER: &'static [&'static str] = &[$(stringify!($field)),+];
            fn per_ids(&self, name: &str) -> Option<&$crate::id_list::IdList> {
                match name {
                    $(stringify!($field) => self.$field.as_ref(),)+
                    _ => None,
                }
            }
        }
    };
}

/// A list without such filters (`per` is refused).
impl PerFilters for () {
    const PER: &'static [&'static str] = &[];
    fn per_ids(&self, _: &str) -> Option<&IdList> {
        None
    }
}

/// A page read per value of a filter: the column and the ids, each once,
/// in the order the request named them.
#[derive(Debug, Clone)]
struct Per {
    column: &'static str,
    ids: Vec<Uuid>,
}

fn invalid_per(detail: impl Into<String>) -> Problem {
    Problem::bad_request(detail).with_code("invalid_per")
}

/// A validated page request, ready to extend a query.
#[derive(Debug, Clone)]
pub struct Keyset {
    pub limit: i64,
    pub field: SortField,
    pub descending: bool,
    after: Option<(SortValue, Uuid)>,
    updated_since: Option<DateTime<Utc>>,
    ids: Option<IdList>,
    per: Option<Per>,
}

impl PageParams {
    /// Checks limit, sort (one of `sorts`), `updated_since` and the cursor.
    /// Without a sort, the list is in `default` order, or, with
    /// `updated_since`, in order of change (`updated_at`, else `created_at`
    /// for a list whose rows never change), where `sorts` has it: the rows
    /// changed since a time are then one range of that sort's index, not a
    /// part of the tenant's rows to be sorted. `per` is refused (400
    /// `invalid_per`): the list offers none ([`Self::keyset_per`]).
    pub fn keyset(&self, sorts: &[SortField], default: SortField) -> Result<Keyset, Problem> {
        self.keyset_per(sorts, default, &())
    }

    /// [`Self::keyset`] for a list with [`PerFilters`]: `per` names one of
    /// them that the request gives (as a list of one or more ids), and no
    /// `cursor` (a page per value is the whole answer; 400 `invalid_per`
    /// otherwise).
    pub fn keyset_per<F: PerFilters>(
        &self,
        sorts: &[SortField],
        default: SortField,
        filters: &F,
    ) -> Result<Keyset, Problem> {
        let per = self
            .per
            .as_deref()
            .map(|name| per(name, filters))
            .transpose()?;
        if per.is_some() && self.cursor.is_some() {
            return Err(invalid_per(
                "per reads one page for each value of its filter, so it takes no cursor",
            ));
        }
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(Problem::bad_request(format!(
                        "limit must be an integer from 1 to {MAX_LIMIT}"
                    ))
                    .with_code("invalid_limit"));
                }
            },
        };
        let (descending, name) = match self.sort.as_deref() {
            None if self.updated_since.is_some() => (
                false,
                [SortField::UPDATED_AT, SortField::CREATED_AT]
                    .iter()
                    .find(|f| sorts.contains(f))
                    .unwrap_or(&default)
                    .name,
            ),
            None => (false, default.name),
            Some(raw) => match raw.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, raw),
            },
        };
        let field = *sorts.iter().find(|f| f.name == name).ok_or_else(|| {
            let names: Vec<&str> = sorts.iter().map(|f| f.name).collect();
            Problem::bad_request(format!(
                "sort must be one of {} (prefix with - for descending)",
                names.join(", ")
            ))
            .with_code("invalid_sort")
            .with_extension("allowed", names)
        })?;
        let updated_since = self
            .updated_since
            .as_deref()
            .map(|s| {
                DateTime::parse_from_rfc3339(s)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|_| {
                        Problem::bad_request("updated_since must be an RFC 3339 time")
                            .with_code("invalid_query")
                    })
            })
            .transpose()?;
        let ids = self
            .ids
            .as_deref()
            .map(|raw| parse_ids("ids", raw))
            .transpose()?;
        let mut keyset = Keyset {
            limit,
            field,
            descending,
            after: None,
            updated_since,
            ids,
            per,
        };
        if let Some(raw) = self.cursor.as_deref() {
            let (sort, value, id) = decode_cursor(raw)?;
            if sort != keyset.sort_key() {
                return Err(invalid_cursor());
            }
            let value = SortValue::decode(field.sql_type, &value).ok_or_else(invalid_cursor)?;
            keyset.after = Some((value, id));
        }
        Ok(keyset)
    }
}

/// `per=name`: one of `F`'s filters, given.
fn per<F: PerFilters>(name: &str, filters: &F) -> Result<Per, Problem> {
    let Some(column) = F::PER.iter().copied().find(|f| *f == name) else {
        let detail = if F::PER.is_empty() {
            "this list cannot be read per filter (per)".to_owned()
        } else {
            format!("per must be one of {}", F::PER.join(", "))
        };
        return Err(invalid_per(detail).with_extension("allowed", F::PER));
    };
    let given = filters
        .per_ids(column)
        .ok_or_else(|| invalid_per(format!("per={column} needs the filter {column}")))?;
    given.join();
    let mut ids = given.ids().to_vec();
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    Ok(Per { column, ids })
}

/// The cursor a list sorted by `sort` (`created_at`, `-id`, …) issues
/// after the row `id` whose sort column holds `value`: for a component
/// that pages such a list from a row it knows (GraphQL's connections).
pub fn cursor_after(sort: &str, value: &SortValue, id: Uuid) -> String {
    encode_cursor(sort, value, id)
}

/// [`cursor_after`] for an id-ordered list (`sort=id`, or `-id` when
/// `descending`).
pub fn id_cursor(descending: bool, id: Uuid) -> String {
    let sort = if descending { "-id" } else { "id" };
    cursor_after(sort, &SortValue::Uuid(id), id)
}

impl Keyset {
    /// A list ordered by id only (UUID v7: creation order), no other sort offered.
    pub fn by_id(params: &PageParams) -> Result<Keyset, Problem> {
        params.keyset(&[SortField::ID], SortField::ID)
    }

    fn sort_key(&self) -> String {
        if self.descending {
            format!("-{}", self.field.name)
        } else {
            self.field.name.to_owned()
        }
    }

    /// Appends the `updated_since` filter and the cursor's position as
    /// ` and …` conditions; call it after the list's own filters.
    pub fn push_conditions(&self, qb: &mut QueryBuilder<Postgres>) {
        if let Some(since) = self.updated_since {
            qb.push(" and updated_at >= ").push_bind(since);
        }
        if let Some(ids) = &self.ids {
            ids.push_filter(qb, "id");
        }
        if let Some((value, id)) = self.after.clone() {
            let op = if self.descending { "<" } else { ">" };
            if self.field.unique {
                qb.push(format!(" and {} {op} ", self.field.name));
                value.push_bind(qb);
            } else {
                qb.push(format!(" and ({}, id) {op} (", self.field.name));
                value.push_bind(qb);
                qb.push(", ").push_bind(id).push(")");
            }
        }
    }

    /// Appends `order by … limit …` (one row more than the page, to tell
    /// whether another page follows).
    pub fn push_order(&self, qb: &mut QueryBuilder<Postgres>) {
        qb.push(format!(" order by {} limit ", self.order("")));
        qb.push_bind(self.limit + 1);
    }

    /// The sort's `order by` terms, of the columns of `table` (`t.`) or
    /// unqualified (`""`).
    fn order(&self, table: &str) -> String {
        let dir = if self.descending { "desc" } else { "asc" };
        let field = self.field.name;
        if self.field.unique {
            format!("{table}{field} {dir}")
        } else {
            format!("{table}{field} {dir}, {table}id {dir}")
        }
    }

    /// Both of the above.
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        self.push_conditions(qb);
        self.push_order(qb);
    }

    /// The page `qb` (the list's select and its own filters) yields: the
    /// cursor's position, the order and the limit appended, the rows read,
    /// the next cursor made with `key` (a row's sort value and id).
    /// With `per`, the page is one page for each id of the filter, one
    /// after another ([`Self::query`]), and no next cursor.
    pub async fn fetch<T>(
        &self,
        conn: &mut PgConnection,
        qb: QueryBuilder<Postgres>,
        key: impl Fn(&T, &str) -> (SortValue, Uuid),
    ) -> Result<Page<T>, sqlx::Error>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut qb = self.query(qb)?;
        let rows: Vec<T> = qb.build_query_as().fetch_all(conn).await?;
        Ok(self.page(rows, key))
    }

    /// The statement of the page `qb` (the list's select and its own
    /// filters, ending in its `where`) yields: [`Self::push`], or with
    /// `per`, `qb` for each id of the filter, each the first `limit` rows
    /// of that id's range of the filter's index:
    ///
    /// ```sql
    /// select per_rows.* from unnest($ids::uuid[]) with ordinality as per_value (id, ord)
    /// cross join lateral (<qb> and <column> = per_value.id order by … limit $n) as per_rows
    /// order by per_value.ord, <sort>
    /// ```
    pub fn query(
        &self,
        mut qb: QueryBuilder<Postgres>,
    ) -> Result<QueryBuilder<Postgres>, sqlx::Error> {
        self.push_conditions(&mut qb);
        let Some(per) = &self.per else {
            self.push_order(&mut qb);
            return Ok(qb);
        };
        // The select goes inside the lateral join: its bound values stay
        // the first ones ($1…), the ids and the limit come after them.
        let select = qb.sql();
        let values = qb
            .build()
            .take_arguments()
            .map_err(sqlx::Error::Encode)?
            .unwrap_or_default();
        let mut outer = QueryBuilder::with_arguments("select per_rows.* from unnest(", values);
        outer
            .push_bind(per.ids.clone())
            .push("::uuid[]) with ordinality as per_value (id, ord) cross join lateral (")
            .push(select.as_str())
            .push(format!(" and {} = per_value.id", per.column))
            .push(format!(" order by {} limit ", self.order("")))
            .push_bind(self.limit)
            .push(format!(
                ") as per_rows order by per_value.ord, {}",
                self.order("per_rows.")
            ));
        Ok(outer)
    }

    /// The page from the `limit + 1` rows fetched; `key` gives a row's
    /// value of the sort field and its id.
    pub fn page<T>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T, &str) -> (SortValue, Uuid),
    ) -> Page<T> {
        if self.per.is_some() {
            return Page {
                data: rows,
                next_cursor: None,
            };
        }
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|last| {
                let (value, id) = key(last, self.field.name);
                encode_cursor(&self.sort_key(), &value, id)
            })
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests;
