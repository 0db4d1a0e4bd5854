//! Batch reads (API.md, Collections): a list's `*_id` filter takes a list
//! of ids, and `per=<filter>` makes `limit` apply to each of them.
//! [`reads_per_parent`] checks one list and filter so.

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::Client;

/// `path` with `query` appended (after `?`, or `&` when it has a query).
pub fn with_query(path: &str, query: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{query}")
}

fn ids_of(rows: &[Value]) -> Vec<Value> {
    rows.iter().map(|r| r["id"].clone()).collect()
}

/// The list `path` filtered by `filter` (`customer_id`) for two parents
/// that each have more than `limit` rows: `filter=a,b` lists the rows of
/// both and no other; with `per=filter&limit=…`, the first `limit` rows of
/// `a` (as `filter=a&limit=…` lists them), then those of `b`, and no next
/// cursor. `per` with a cursor or without its filter is 400 `invalid_per`;
/// a filter that is no list of ids is 400 `invalid_ids`.
pub async fn reads_per_parent(
    c: &Client,
    path: &str,
    filter: &str,
    [a, b]: [Uuid; 2],
    limit: usize,
) {
    let get = async |query: &str| {
        c.get(&with_query(path, query))
            .await
            .assert_status(StatusCode::OK)
    };
    let of_a = get(&format!("{filter}={a}&limit=200")).await;
    let of_b = get(&format!("{filter}={b}&limit=200")).await;
    for (parent, rows) in [(a, of_a.items()), (b, of_b.items())] {
        assert!(
            rows.len() > limit,
            "{path}: {parent} has more than {limit} rows"
        );
        assert!(
            rows.iter().all(|r| r[filter] == parent.to_string()),
            "{path}"
        );
    }

    let both = get(&format!("{filter}={a},{b}&limit=200")).await;
    let mut got = ids_of(both.items());
    let mut want = [ids_of(of_a.items()), ids_of(of_b.items())].concat();
    got.sort_by_key(Value::to_string);
    want.sort_by_key(Value::to_string);
    assert_eq!(got, want, "{path}?{filter}={a},{b}");

    let per = get(&format!("{filter}={b},{a}&per={filter}&limit={limit}")).await;
    assert_eq!(
        per.next_cursor(),
        None,
        "{path}: per reads no further pages"
    );
    let first_of = |rows: &[Value]| ids_of(&rows[..limit]);
    assert_eq!(
        ids_of(per.items()),
        [first_of(of_b.items()), first_of(of_a.items())].concat(),
        "{path}: the first {limit} of each, in the order named"
    );

    let cursor = get(&format!("{filter}={a}&limit=1"))
        .await
        .next_cursor()
        .expect("a next page")
        .to_owned();
    for refused in [
        format!("{filter}={a},{b}&per={filter}&cursor={cursor}"),
        format!("per={filter}"),
        format!("{filter}={a}&per=no_such_filter"),
    ] {
        c.get(&with_query(path, &refused))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid_per");
    }
    let too_many = vec![a.to_string(); 101].join(",");
    for bad in ["nope", "", &too_many, &format!("{a},")] {
        c.get(&with_query(path, &format!("{filter}={bad}")))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "invalid_ids");
    }
}
