//! Batch reads per value of a filter (`per=customer_id`): one page for
//! each id the filter names, in one statement.

use sqlx::{Execute, Postgres, QueryBuilder};
use uuid::Uuid;

use super::Keyset;
use crate::id_list::IdList;
use crate::problem::Problem;

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
pub(super) struct Per {
    pub(super) column: &'static str,
    pub(super) ids: Vec<Uuid>,
}

pub(super) fn invalid_per(detail: impl Into<String>) -> Problem {
    Problem::bad_request(detail).with_code("invalid_per")
}

/// `per=name`: one of `F`'s filters, given.
pub(super) fn per<F: PerFilters>(name: &str, filters: &F) -> Result<Per, Problem> {
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

impl Keyset {
    /// The per statement of [`Keyset::query`]: `qb` for each id of the
    /// filter, each the first `limit` rows of that id's range.
    pub(super) fn per_query(
        &self,
        mut qb: QueryBuilder<Postgres>,
        per: &Per,
    ) -> Result<QueryBuilder<Postgres>, sqlx::Error> {
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
}
