//! Batch reads (API.md, Collections): `ids=` and every `*_id` filter of a
//! list take 1 to [`IDS_MAX`] UUIDs, comma-separated, so that one request
//! reads the rows of many parents (the GraphQL layer's one call per type
//! and level). [`IdList`] is such a filter's value: a single UUID is a
//! list of one, so a client that sends one id is served as before.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Deserializer};
use sqlx::{Postgres, QueryBuilder};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::problem::Problem;

/// The most ids one list parameter names.
pub const IDS_MAX: usize = 100;

/// What a list parameter takes, as the document states it: 1 to
/// [`IDS_MAX`] hyphenated UUIDs, comma-separated.
pub const PATTERN: &str = concat!(
    "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    "(,[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}){0,99}$"
);

/// The longest list: [`IDS_MAX`] UUIDs and the commas between them.
pub const MAX_LENGTH: usize = IDS_MAX * 37 - 1;

/// What a parameter that is no such list is told; the query extractor
/// knows the message and answers it with the code `invalid_ids`.
pub(crate) const MUST_BE: &str = "must be 1 to 100 comma-separated UUIDs";
const _: () = assert!(IDS_MAX == 100, "MUST_BE and PATTERN state the maximum");

/// The code of a list parameter that is no list of ids.
pub const INVALID_IDS: &str = "invalid_ids";

/// `ids=a,b,…` and the `*_id` filters: 1 to [`IDS_MAX`] hyphenated UUIDs
/// (400 `invalid_ids` naming `name` otherwise).
pub(crate) fn parse_ids(name: &str, raw: &str) -> Result<IdList, Problem> {
    let invalid = || Problem::bad_request(format!("{name} {MUST_BE}")).with_code(INVALID_IDS);
    let ids: Vec<Uuid> = raw
        .split(',')
        // Hyphenated only, as the document's pattern has them.
        .map(|s| match s.len() {
            36 => Uuid::parse_str(s).map_err(|_| invalid()),
            _ => Err(invalid()),
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() || ids.len() > IDS_MAX {
        return Err(invalid());
    }
    Ok(IdList::from(ids))
}

/// The value of a `*_id` filter (`pub customer_id: Option<IdList>` in a
/// list's `#[derive(Deserialize, IntoParams)]` filters): 1 to [`IDS_MAX`]
/// UUIDs, documented as the string the query carries.
#[derive(Debug)]
pub struct IdList {
    ids: Vec<Uuid>,
    /// The page is read per id of this filter (`per=`), whose join holds
    /// the rows to the ids: [`Self::push_filter`] adds nothing then. The
    /// condition is the same either way; without a second one on the
    /// column, the planner reads each id's rows along the index in the
    /// list's order instead of sorting them all.
    joined: AtomicBool,
}

impl IdList {
    pub fn ids(&self) -> &[Uuid] {
        &self.ids
    }

    /// Marks the filter as read per id by the keyset's join.
    pub(crate) fn join(&self) {
        self.joined.store(true, Ordering::Relaxed);
    }

    /// Appends ` and <column> = any($n)` (` = $n` for one id, which an
    /// index on the column reads in its order). `column` is a constant of
    /// the module, never input.
    pub fn push_filter(&self, qb: &mut QueryBuilder<Postgres>, column: &'static str) {
        if self.joined.load(Ordering::Relaxed) {
            return;
        }
        match self.ids.as_slice() {
            [one] => qb.push(format!(" and {column} = ")).push_bind(*one),
            many => qb
                .push(format!(" and {column} = any("))
                .push_bind(many.to_vec())
                .push(")"),
        };
    }
}

impl From<Vec<Uuid>> for IdList {
    /// A list the server makes itself (its length is the caller's care).
    fn from(ids: Vec<Uuid>) -> Self {
        IdList {
            ids,
            joined: AtomicBool::new(false),
        }
    }
}

impl Clone for IdList {
    fn clone(&self) -> Self {
        IdList {
            ids: self.ids.clone(),
            joined: AtomicBool::new(self.joined.load(Ordering::Relaxed)),
        }
    }
}

impl PartialEq for IdList {
    fn eq(&self, other: &Self) -> bool {
        self.ids == other.ids
    }
}

impl Eq for IdList {}

impl<'de> Deserialize<'de> for IdList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Cow::<str>::deserialize(d)?;
        parse_ids("", &raw).map_err(|_| serde::de::Error::custom(MUST_BE))
    }
}

impl PartialSchema for IdList {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "1 to 100 UUIDs, comma-separated (400 `invalid_ids` otherwise): the rows of \
                 any of them.",
            ))
            .pattern(Some(PATTERN))
            .max_length(Some(MAX_LENGTH))
            .examples(["0192d1c1-e0c3-7c2a-8e3f-6a1b2c3d4e5f"])
            .into()
    }
}

impl ToSchema for IdList {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("IdList")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Filters {
        customer_id: Option<IdList>,
    }

    fn read(query: &str) -> Result<Filters, String> {
        serde_urlencoded::from_str(query).map_err(|e| e.to_string())
    }

    #[test]
    fn one_id_or_a_list_of_them() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let one = read(&format!("customer_id={a}")).unwrap();
        assert_eq!(one.customer_id.unwrap().ids(), [a]);
        let two = read(&format!("customer_id={a},{b}")).unwrap();
        assert_eq!(two.customer_id.unwrap().ids(), [a, b]);
        assert!(read("").unwrap().customer_id.is_none());
    }

    #[test]
    fn anything_else_is_refused_with_the_known_message() {
        let id = Uuid::now_v7().to_string();
        let too_many = vec![id.as_str(); IDS_MAX + 1].join(",");
        let at_most = vec![id.as_str(); IDS_MAX].join(",");
        assert_eq!(at_most.len(), MAX_LENGTH);
        assert!(read(&format!("customer_id={at_most}")).is_ok());
        let simple = id.replace('-', "");
        for bad in [
            "",
            "nope",
            &too_many,
            &simple,
            &format!("{id},"),
            &format!("{id} "),
        ] {
            let err = read(&format!("customer_id={}", bad.replace(' ', "+"))).unwrap_err();
            assert!(err.ends_with(MUST_BE), "{bad}: {err}");
        }
    }

    #[test]
    fn the_documented_pattern_is_the_parsers() {
        let re = regex::Regex::new(PATTERN).unwrap();
        let id = Uuid::now_v7().to_string();
        for n in [1, 2, IDS_MAX, IDS_MAX + 1] {
            let list = vec![id.as_str(); n].join(",");
            assert_eq!(re.is_match(&list), parse_ids("ids", &list).is_ok(), "{n}");
        }
    }

    #[test]
    fn one_id_filters_by_equality_more_by_any() {
        let mut qb = QueryBuilder::<Postgres>::new("select id from t where true");
        IdList::from(vec![Uuid::now_v7()]).push_filter(&mut qb, "customer_id");
        IdList::from(vec![Uuid::now_v7(), Uuid::now_v7()]).push_filter(&mut qb, "asset_id");
        assert_eq!(
            qb.sql().as_str(),
            "select id from t where true and customer_id = $1 and asset_id = any($2)"
        );
    }
}
