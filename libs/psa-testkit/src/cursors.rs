//! Forged list cursors: a cursor the server did not issue — edited,
//! truncated, made for another sort, or forged whole with a value that is
//! not of the sort column's type — must be a 400 `invalid_cursor` on every
//! list and every sort, never a 500. [`refuses_forgeries_on_every_sort`]
//! checks one list so (`path` may carry a query: a list's required filter).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Client;
use crate::batch::with_query;

/// What the sort column holds, as told by the value of an issued cursor.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Uuid,
    Time,
    Date,
    Text,
}

impl Kind {
    fn of(value: &str) -> Kind {
        let b = value.as_bytes();
        if Uuid::parse_str(value).is_ok() {
            Kind::Uuid
        } else if b.len() >= 20 && b[4] == b'-' && b[10] == b'T' {
            Kind::Time
        } else if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
            Kind::Date
        } else {
            Kind::Text
        }
    }

    /// Another value of the same type, to edit a cursor with.
    fn other_value(self) -> &'static str {
        match self {
            Kind::Uuid => "00000000-0000-7000-8000-000000000000",
            Kind::Time => "2000-01-01T00:00:00.000000Z",
            Kind::Date => "2000-01-01",
            Kind::Text => "zzz",
        }
    }
}

/// `[sort, value, id, checksum]` of a cursor, as the server writes it.
fn open(cursor: &str) -> Vec<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).expect("an issued cursor");
    serde_json::from_slice(&bytes).expect("an issued cursor")
}

/// Cursors are base64url, so they go into a query string as they are.
fn seal(parts: &Value) -> String {
    URL_SAFE_NO_PAD.encode(parts.to_string())
}

/// The checksum the server writes today. It keeps edits out, not forgers;
/// what stops a forged cursor from reaching the database is the check of
/// its value against the column's type, which these cursors exercise.
fn checksum(sort: &str, value: &str, id: &str) -> String {
    let id = Uuid::parse_str(id).expect("a cursor's id");
    let mut h = Sha256::new();
    for part in [sort.as_bytes(), &[0], value.as_bytes(), &[0], id.as_bytes()] {
        h.update(part);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn forged(sort: &str, value: &str, id: &str) -> String {
    seal(&json!([sort, value, id, checksum(sort, value, id)]))
}

/// The sorts a list offers, as its `invalid_sort` problem names them.
pub async fn sorts(c: &Client, path: &str) -> Vec<String> {
    let refused = c
        .get(&with_query(path, "sort=no_such_field"))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_sort");
    refused.body["allowed"]
        .as_array()
        .unwrap_or_else(|| panic!("allowed sorts in {refused}"))
        .iter()
        .map(|s| s.as_str().expect("a sort name").to_owned())
        .collect()
}

fn with_cursor(path: &str, sort: &str, cursor: &str) -> String {
    with_query(path, &format!("limit=1&sort={sort}&cursor={cursor}"))
}

/// Every forgery of one list's cursor for one sort (the list holds at
/// least two rows, so a page of one has a next cursor).
pub async fn refuses_forgeries(c: &Client, path: &str, sort: &str) {
    let first = c
        .get(&with_query(path, &format!("limit=1&sort={sort}")))
        .await
        .assert_status(StatusCode::OK);
    let issued = first
        .next_cursor()
        .unwrap_or_else(|| panic!("{path} sort={sort}: two rows, one a page"))
        .to_owned();
    c.get(&with_cursor(path, sort, &issued))
        .await
        .assert_status(StatusCode::OK);

    let parts = open(&issued);
    let (value, id, sum) = (
        parts[1].as_str().expect("a value"),
        parts[2].as_str().expect("an id"),
        parts[3].as_str().expect("a checksum"),
    );
    let kind = Kind::of(value);
    let other_sort = match sort.strip_prefix('-') {
        Some(asc) => asc.to_owned(),
        None => format!("-{sort}"),
    };
    let mut refused = vec![
        (
            "value edited",
            seal(&json!([sort, kind.other_value(), id, sum])),
        ),
        ("id edited", seal(&json!([sort, value, Uuid::nil(), sum]))),
        ("checksum edited", seal(&json!([sort, value, id, "0"]))),
        ("truncated", issued[..issued.len() - 4].to_owned()),
        ("made for another sort", forged(&other_sort, value, id)),
        ("id not a UUID", seal(&json!([sort, value, "1", sum]))),
        ("too few parts", seal(&json!([sort, value, id]))),
        ("not JSON", URL_SAFE_NO_PAD.encode("not json")),
        ("not base64url", "!!!".to_owned()),
    ];
    if kind != Kind::Text {
        // A forgery that would reach the database as a bad value (a 500).
        refused.push(("value not of the column's type", forged(sort, "soon", id)));
        refused.push(("value out of range", forged(sort, "2026-13-45", id)));
    }
    for (what, cursor) in refused {
        let res = c.get(&with_cursor(path, sort, &cursor)).await;
        assert_eq!(
            (res.status, res.body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_cursor")),
            "{path} sort={sort}, {what}: {res}"
        );
    }
    if kind == Kind::Text {
        // Any text is a text column's value: a forged one pages from there.
        let res = c
            .get(&with_cursor(
                path,
                sort,
                &forged(sort, "'; drop table x; --", id),
            ))
            .await;
        assert!(
            res.status == StatusCode::OK || res.status == StatusCode::BAD_REQUEST,
            "{path} sort={sort}: forged text cursor: {res}"
        );
    }
}

/// [`refuses_forgeries`] for every sort the list offers, both directions;
/// returns the `sort`s covered.
pub async fn refuses_forgeries_on_every_sort(c: &Client, path: &str) -> Vec<String> {
    let mut covered = Vec::new();
    for sort in sorts(c, path).await {
        for sort in [sort.clone(), format!("-{sort}")] {
            refuses_forgeries(c, path, &sort).await;
            covered.push(sort);
        }
    }
    covered
}
