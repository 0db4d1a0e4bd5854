//! Page requests, cursors and their refusals.

use super::cursor::checksum;
use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

const SORTS: &[SortField] = &[
    SortField::CREATED_AT,
    SortField::new("name", SqlType::Text),
    SortField::new("start_date", SqlType::Date),
    SortField::ID,
];

fn params(limit: Option<&str>, sort: Option<&str>, cursor: Option<String>) -> PageParams {
    PageParams {
        limit: limit.map(str::to_owned),
        cursor,
        sort: sort.map(str::to_owned),
        updated_since: None,
        ids: None,
        per: None,
    }
}

fn code(p: Problem) -> (u16, &'static str) {
    (p.status.as_u16(), p.code)
}

#[test]
fn limit_bounds() {
    let k = params(None, None, None)
        .keyset(SORTS, SortField::CREATED_AT)
        .unwrap();
    assert_eq!(k.limit, 50);
    for bad in ["0", "201", "-1", "x", "1.5", "99999999999999999999"] {
        let err = params(Some(bad), None, None)
            .keyset(SORTS, SortField::CREATED_AT)
            .unwrap_err();
        assert_eq!(code(err), (400, "invalid_limit"), "{bad}");
    }
}

#[test]
fn unknown_sort_is_refused() {
    let err = params(None, Some("password"), None)
        .keyset(SORTS, SortField::CREATED_AT)
        .unwrap_err();
    assert_eq!(code(err), (400, "invalid_sort"));
}

fn cursor_for(sort: &str, value: SortValue) -> String {
    encode_cursor(sort, &value, Uuid::now_v7())
}

#[test]
fn issued_cursor_round_trips_and_is_bound_to_its_sort() {
    let date = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
    let c = cursor_for("-start_date", SortValue::Date(date));
    let k = params(None, Some("-start_date"), Some(c.clone()))
        .keyset(SORTS, SortField::CREATED_AT)
        .unwrap();
    assert_eq!(k.after.unwrap().0, SortValue::Date(date));
    for other in ["start_date", "name", "-created_at"] {
        let err = params(None, Some(other), Some(c.clone()))
            .keyset(SORTS, SortField::CREATED_AT)
            .unwrap_err();
        assert_eq!(code(err), (400, "invalid_cursor"), "{other}");
    }
}

#[test]
fn forged_value_of_the_wrong_type_is_refused() {
    // A well-formed cursor (right checksum) whose value is not a date.
    let id = Uuid::now_v7();
    let sum = checksum("start_date", "not-a-date", &id);
    let raw = URL_SAFE_NO_PAD
        .encode(serde_json::json!(["start_date", "not-a-date", id, sum]).to_string());
    let err = params(None, Some("start_date"), Some(raw))
        .keyset(SORTS, SortField::CREATED_AT)
        .unwrap_err();
    assert_eq!(code(err), (400, "invalid_cursor"));
}

#[test]
fn page_sets_cursor_only_when_more() {
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let k = params(Some("2"), Some("id"), None)
        .keyset(SORTS, SortField::CREATED_AT)
        .unwrap();
    let page = k.page(ids.clone(), |id, _| (SortValue::Uuid(*id), *id));
    assert_eq!(page.data.len(), 2);
    let next = params(Some("2"), Some("id"), page.next_cursor)
        .keyset(SORTS, SortField::CREATED_AT)
        .unwrap();
    assert_eq!(next.after.unwrap().1, ids[1]);
}

#[test]
fn updated_since_without_a_sort_lists_in_order_of_change() {
    let since = |sort: Option<&str>| PageParams {
        updated_since: Some("2026-01-01T00:00:00Z".into()),
        ..params(None, sort, None)
    };
    let with_updated = [SortField::CREATED_AT, SortField::UPDATED_AT, SortField::ID];
    let field = |p: PageParams, sorts: &[SortField]| p.keyset(sorts, SortField::ID).unwrap().field;
    assert_eq!(field(since(None), &with_updated), SortField::UPDATED_AT);
    assert_eq!(
        field(since(Some("-created_at")), &with_updated),
        SortField::CREATED_AT
    );
    // A list of rows that never change: their creation is their change.
    assert_eq!(
        field(since(None), &[SortField::ID, SortField::CREATED_AT]),
        SortField::CREATED_AT
    );
    assert_eq!(field(since(None), &[SortField::ID]), SortField::ID);
    assert_eq!(
        field(params(None, None, None), &with_updated),
        SortField::ID
    );
}

#[test]
fn a_unique_sort_field_orders_alone() {
    let number = SortField::unique("number", SqlType::Text);
    let sorts = [SortField::CREATED_AT, number];
    let first = params(Some("1"), Some("-number"), None)
        .keyset(&sorts, SortField::CREATED_AT)
        .unwrap();
    let page = first.page(
        vec![("T-000009", Uuid::now_v7()), ("T-000008", Uuid::now_v7())],
        |r, _| (SortValue::Text(r.0.into()), r.1),
    );
    let next = params(Some("1"), Some("-number"), page.next_cursor)
        .keyset(&sorts, SortField::CREATED_AT)
        .unwrap();
    let mut qb = QueryBuilder::<Postgres>::new("select id, number from t where true");
    next.push(&mut qb);
    assert_eq!(
        qb.sql().as_str(),
        "select id, number from t where true and number < $1 order by number desc limit $2"
    );

    let mut qb = QueryBuilder::<Postgres>::new("select id, number from t where true");
    let by_created = params(None, Some("created_at"), None)
        .keyset(&sorts, SortField::CREATED_AT)
        .unwrap();
    by_created.push(&mut qb);
    assert!(
        qb.sql()
            .as_str()
            .ends_with("order by created_at asc, id asc limit $1"),
        "{}",
        qb.sql().as_str()
    );
}

#[test]
fn a_hundred_ids_are_read_and_a_hundred_and_one_refused() {
    let ids = |n: usize| PageParams {
        ids: Some(vec![Uuid::now_v7().to_string(); n].join(",")),
        ..params(None, None, None)
    };
    assert!(ids(IDS_MAX).keyset(SORTS, SortField::ID).is_ok());
    let err = ids(IDS_MAX + 1).keyset(SORTS, SortField::ID).unwrap_err();
    assert_eq!(code(err), (400, "invalid_ids"));
}

#[test]
fn an_id_cursor_is_one_the_id_ordered_list_takes() {
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    for (descending, sort) in [(false, None), (false, Some("id")), (true, Some("-id"))] {
        let made = id_cursor(descending, ids[1]);
        let k = params(Some("1"), sort, Some(made.clone()))
            .keyset(&[SortField::ID], SortField::ID)
            .unwrap();
        assert_eq!(k.after, Some((SortValue::Uuid(ids[1]), ids[1])), "{sort:?}");
        // The very cursor the list issues after that row.
        let issued = params(Some("1"), sort, None)
            .keyset(&[SortField::ID], SortField::ID)
            .unwrap()
            .page(ids[1..].to_vec(), |id, _| (SortValue::Uuid(*id), *id))
            .next_cursor;
        assert_eq!(issued.as_deref(), Some(made.as_str()), "{sort:?}");
    }
    let other_direction = params(None, Some("-id"), Some(id_cursor(false, ids[0])));
    let err = other_direction
        .keyset(&[SortField::ID], SortField::ID)
        .unwrap_err();
    assert_eq!(code(err), (400, "invalid_cursor"));
}

#[test]
fn a_time_cursor_is_the_one_the_time_ordered_list_issues() {
    let rows: Vec<(DateTime<Utc>, Uuid)> = (0..3)
        .map(|i| {
            let t = DateTime::from_timestamp_micros(1_780_000_000_000_000 + i).unwrap();
            (t, Uuid::now_v7())
        })
        .collect();
    for sort in ["created_at", "-created_at"] {
        let made = cursor_after(sort, &SortValue::Time(rows[1].0), rows[1].1);
        let k = params(Some("1"), Some(sort), Some(made.clone()))
            .keyset(&[SortField::CREATED_AT], SortField::CREATED_AT)
            .unwrap();
        assert_eq!(k.after, Some((SortValue::Time(rows[1].0), rows[1].1)));
        let issued = params(Some("1"), Some(sort), None)
            .keyset(&[SortField::CREATED_AT], SortField::CREATED_AT)
            .unwrap()
            .page(rows[1..].to_vec(), |(t, id), _| (SortValue::Time(*t), *id))
            .next_cursor;
        assert_eq!(issued.as_deref(), Some(made.as_str()), "{sort}");
    }
}

/// A list's filters that `per` may name (as a module's would be).
struct Children {
    customer_id: Option<IdList>,
    asset_id: Option<IdList>,
}

crate::per_filters!(Children: customer_id, asset_id);

fn per(name: &str, cursor: Option<String>) -> PageParams {
    PageParams {
        per: Some(name.into()),
        ..params(Some("10"), None, cursor)
    }
}

#[test]
fn per_needs_its_filter_given_and_no_cursor() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let given = Children {
        customer_id: Some(IdList::from(vec![a, b, a])),
        asset_id: None,
    };
    let k = per("customer_id", None)
        .keyset_per(SORTS, SortField::CREATED_AT, &given)
        .unwrap();
    let per_customer = k.per.as_ref().unwrap();
    assert_eq!(per_customer.column, "customer_id");
    assert_eq!(per_customer.ids, [a, b], "each id once, in the order named");

    let refused = |p: PageParams| {
        code(
            p.keyset_per(SORTS, SortField::CREATED_AT, &given)
                .unwrap_err(),
        )
    };
    assert_eq!(
        refused(per("asset_id", None)),
        (400, "invalid_per"),
        "not given"
    );
    assert_eq!(
        refused(per("site_id", None)),
        (400, "invalid_per"),
        "not offered"
    );
    assert_eq!(
        refused(per("customer_id; drop", None)),
        (400, "invalid_per")
    );
    let cursor = id_cursor(false, a);
    assert_eq!(
        refused(per("customer_id", Some(cursor))),
        (400, "invalid_per"),
        "with a cursor"
    );
    // A list that offers no `per` refuses it.
    let err = per("customer_id", None)
        .keyset(SORTS, SortField::CREATED_AT)
        .unwrap_err();
    assert_eq!(code(err), (400, "invalid_per"));
}

#[test]
fn per_reads_each_ids_first_rows_along_the_index() {
    let given = Children {
        customer_id: Some(IdList::from(vec![Uuid::now_v7(), Uuid::now_v7()])),
        asset_id: None,
    };
    let k = PageParams {
        ids: Some(Uuid::now_v7().to_string()),
        ..per("customer_id", None)
    }
    .keyset_per(SORTS, SortField::CREATED_AT, &given)
    .unwrap();
    // The filter `per` names is the join's (`customer_id = per_value.id`).
    let mut select = QueryBuilder::<Postgres>::new("select id, customer_id from t where true");
    given
        .customer_id
        .as_ref()
        .unwrap()
        .push_filter(&mut select, "customer_id");
    let qb = k.query(select).unwrap();
    assert_eq!(
        qb.sql().as_str(),
        "select per_rows.* from unnest($2::uuid[]) with ordinality as per_value (id, ord) \
         cross join lateral (select id, customer_id from t where true \
         and id = $1 and customer_id = per_value.id \
         order by created_at asc, id asc limit $3) as per_rows \
         order by per_value.ord, per_rows.created_at asc, per_rows.id asc"
    );
    // Rows as they come, all of them: no cursor.
    let page = k.page(vec![Uuid::now_v7(); 20], |id, _| {
        (SortValue::Uuid(*id), *id)
    });
    assert_eq!((page.data.len(), page.next_cursor), (20, None));
}

proptest! {
    #[test]
    fn any_edit_of_a_cursor_is_refused_or_harmless(pos in 0usize..200, byte in any::<u8>()) {
        let c = cursor_for("name", SortValue::Text("Contoso".into()));
        let mut raw = c.into_bytes();
        let i = pos % raw.len();
        prop_assume!(raw[i] != byte);
        raw[i] = byte;
        let edited = String::from_utf8_lossy(&raw).into_owned();
        let result = params(None, Some("name"), Some(edited)).keyset(SORTS, SortField::CREATED_AT);
        if let Err(e) = result {
            prop_assert_eq!(code(e), (400, "invalid_cursor"));
        }
    }

    #[test]
    fn decode_never_panics(raw in ".*") {
        let _ = params(None, None, Some(raw)).keyset(SORTS, SortField::CREATED_AT);
    }
}
