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

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

mod cursor;
mod per;

pub use crate::id_list::IDS_MAX;
use crate::id_list::{IdList, parse_ids};
use crate::pagination::Page;
use crate::problem::Problem;
pub use cursor::{cursor_after, id_cursor};
use cursor::{decode_cursor, encode_cursor, invalid_cursor};
pub use per::PerFilters;
use per::{Per, invalid_per, per};

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
        self.per_query(qb, per)
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
