//! The DATEV export of a month, read as DATEV reads it: Windows-1252
//! (decoded by Python's codec, not ours), CRLF, `;`, the EXTF header, the
//! column line, one booking per document and VAT rate whose sums per
//! revenue account are the month's released gross amounts.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::*;

/// `bytes` decoded as Windows-1252 by an independent decoder (CPython's
/// `cp1252`, strict: a byte it has no character for fails).
fn decode_cp1252(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut py = Command::new("python3")
        .args(["-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode('cp1252', 'strict').encode('utf-8'))"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    py.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(out.status.success(), "not Windows-1252");
    String::from_utf8(out.stdout).unwrap()
}

/// Splits a DATEV line into fields (`;`, text in quotes with `""` inside).
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut chars) =
        (vec![], String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', _) => quoted = !quoted,
            (';', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn amount(s: &str) -> Decimal {
    assert!(
        s.split_once(',').is_some_and(|(i, f)| !i.is_empty()
            && i.len() <= 10
            && f.len() == 2
            && s.chars().all(|c| c.is_ascii_digit() || c == ',')),
        "a DATEV amount (decimal comma, two places): {s:?}"
    );
    s.replace(',', ".").parse().unwrap()
}

fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = day.with_day(1).unwrap();
    let next = first.checked_add_months(chrono::Months::new(1)).unwrap();
    (first, next.pred_opt().unwrap())
}

impl World {
    async fn export(&self, from: NaiveDate, to: NaiveDate) -> psa_testkit::TestResponse {
        self.c
            .get(&format!("/v1/exports/datev?from={from}&to={to}"))
            .await
    }
}

#[tokio::test]
async fn a_month_s_export_books_every_document_and_rate_once() {
    let w = World::new().await;
    w.seller().await;
    let (from, to) = month_of(Utc::now().date_naive());
    // Without the tax advisor's numbers there is no export.
    w.export(from, to)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "export_invalid");
    w.c.patch(
        "/v1/billing/settings",
        json!({"datev_consultant_number": 29098, "datev_client_number": 55003}),
    )
    .await
    .assert_status(StatusCode::OK);
    let customer = w
        .customer(json!({"name": "Bäckerei Schäfer KG", "debtor_account": "10042"}))
        .await;
    let post = async |lines: Value| {
        let d =
            w.c.create(
                "/v1/invoices",
                json!({"customer_id": customer, "lines": lines}),
            )
            .await;
        d["id"].as_str().unwrap().to_owned()
    };
    let nineteen = json!({"description": "Support", "quantity": "2.5", "unit_code": "HUR", "unit_price": "95.00"});
    let seven = json!({"description": "Fachbuch", "quantity": "1", "unit_price": "49.90", "vat_rate": "7.00"});
    let mut released = vec![];
    for lines in [json!([nineteen]), json!([nineteen, seven]), json!([seven])] {
        let id = post(lines).await;
        released.push(
            w.c.post(&format!("/v1/invoices/{id}/release"), json!({}))
                .await
                .assert_status(StatusCode::OK)
                .body,
        );
    }
    let credited = &released[1];
    let note =
        w.c.create(
            &format!(
                "/v1/invoices/{}/credit-notes",
                credited["id"].as_str().unwrap()
            ),
            json!({"lines": [{"line_id": credited["lines"][0]["id"], "quantity": "1"}]}),
        )
        .await;
    let note =
        w.c.post(
            &format!("/v1/invoices/{}/release", note["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .assert_status(StatusCode::OK)
        .body;
    // A draft is never exported.
    post(json!([nineteen])).await;

    let res = w.export(from, to).await.assert_status(StatusCode::OK);
    assert_eq!(res.content_type(), Some("text/csv; charset=windows-1252"));
    assert!(
        res.header("content-disposition")
            .unwrap()
            .contains("EXTF_Buchungsstapel"),
        "{res}"
    );
    let raw = &res.bytes;
    assert!(raw.windows(2).filter(|w| w == b"\r\n").count() >= 2);
    assert!(
        !raw.iter()
            .enumerate()
            .any(|(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r')),
        "CRLF only"
    );
    let text = decode_cp1252(raw);
    assert!(
        raw.contains(&0xE4) && text.contains("Bäckerei"),
        "ä is one Windows-1252 byte"
    );
    let lines: Vec<&str> = text
        .strip_suffix("\r\n")
        .unwrap_or(&text)
        .split("\r\n")
        .collect();

    let head = fields(lines[0]);
    assert_eq!(head.len(), 31, "{head:?}");
    assert_eq!(&head[..5], ["EXTF", "700", "21", "Buchungsstapel", "13"]);
    assert_eq!(
        (head[10].as_str(), head[11].as_str()),
        ("29098", "55003"),
        "consultant and client"
    );
    assert_eq!(
        head[12],
        format!("{}0101", from.year()),
        "fiscal year from January"
    );
    assert_eq!(head[13], "4", "account length");
    assert_eq!(
        (head[14].clone(), head[15].clone()),
        (
            from.format("%Y%m%d").to_string(),
            to.format("%Y%m%d").to_string()
        )
    );
    assert_eq!(head[21], "EUR");
    let columns = fields(lines[1]);
    assert_eq!(columns.len(), 125);
    assert_eq!(columns[0], "Umsatz (ohne Soll/Haben-Kz)");
    assert_eq!(columns[1], "Soll/Haben-Kennzeichen");
    assert_eq!(columns[9], "Belegdatum");

    let bookings: Vec<Vec<String>> = lines[2..].iter().map(|l| fields(l)).collect();
    // 1 + 2 + 1 rates on the invoices, 1 on the credit note.
    assert_eq!(bookings.len(), 5, "{lines:#?}");
    let mut booked: BTreeMap<String, Decimal> = BTreeMap::new();
    for b in &bookings {
        assert_eq!(b.len(), 125);
        let sign = match b[1].as_str() {
            "S" => Decimal::ONE,
            "H" => -Decimal::ONE,
            other => panic!("S or H: {other}"),
        };
        *booked.entry(b[7].clone()).or_default() += sign * amount(&b[0]);
        assert_eq!(
            b[9],
            Utc::now().date_naive().format("%d%m").to_string(),
            "Belegdatum DDMM"
        );
        assert_eq!(b[6], "10042", "the customer's debtor account");
    }
    let note_rows: Vec<&Vec<String>> = bookings
        .iter()
        .filter(|b| b[10] == note["number"].as_str().unwrap())
        .collect();
    assert_eq!(note_rows.len(), 1);
    assert_eq!(
        (note_rows[0][1].as_str(), note_rows[0][11].as_str()),
        ("H", credited["number"].as_str().unwrap())
    );
    // What was released, per revenue account (SKR03: 8400 19 %, 8300 7 %).
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    for doc in released.iter().chain([&note]) {
        let sign = if doc["type"] == "credit_note" {
            -Decimal::ONE
        } else {
            Decimal::ONE
        };
        for g in doc["vat_breakdown"].as_array().unwrap() {
            let account = if g["rate"] == "19.00" { "8400" } else { "8300" };
            let gross: Decimal = g["base"].as_str().unwrap().parse::<Decimal>().unwrap()
                + g["tax"].as_str().unwrap().parse::<Decimal>().unwrap();
            *expected.entry(account.into()).or_default() += sign * gross;
        }
    }
    assert_eq!(booked, expected);
    // Another tenant's export of the same month has none of them.
    let (_, other) = w.app.new_tenant(PERMS);
    other
        .patch(
            "/v1/billing/settings",
            json!({"datev_consultant_number": 29098, "datev_client_number": 1}),
        )
        .await
        .assert_status(StatusCode::OK);
    let theirs = other
        .get(&format!("/v1/exports/datev?from={from}&to={to}"))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(decode_cp1252(&theirs.bytes).matches("\r\n").count(), 2);
}

#[tokio::test]
async fn an_empty_period_is_a_valid_file_and_bad_periods_are_refused() {
    let w = World::new().await;
    w.c.patch("/v1/billing/settings", json!({"datev_consultant_number": 1001, "datev_client_number": 1, "fiscal_year_start_month": 7, "chart_of_accounts": "skr04"}))
        .await
        .assert_status(StatusCode::OK);
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let res = w
        .export(d("2020-07-01"), d("2020-07-31"))
        .await
        .assert_status(StatusCode::OK);
    let text = decode_cp1252(&res.bytes);
    assert_eq!(
        text.matches("\r\n").count(),
        2,
        "header and columns only: {text}"
    );
    let head = fields(text.split("\r\n").next().unwrap());
    assert_eq!(head[12], "20200701", "the fiscal year starts in July");
    assert_eq!(head[26], "04", "SKR04");
    // June and July lie in two fiscal years.
    w.export(d("2020-06-01"), d("2020-07-31"))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "export_invalid");
    w.export(d("2020-07-31"), d("2020-07-01"))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "export_invalid");
    w.c.get("/v1/exports/datev?from=2020-07-01")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    w.c.get("/v1/exports/datev?from=2020-13-01&to=2020-07-31")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}
