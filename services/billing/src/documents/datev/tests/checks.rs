//! What the export refuses, and which account each booking goes to.

use std::collections::BTreeMap;

use super::*;

fn err(s: &Setup) -> DatevError {
    s.run().expect_err("the export must be refused")
}

#[test]
fn the_fiscal_year_starts_in_its_month_at_or_before_the_date() {
    assert_eq!(fiscal_year_start(day("2026-11-05"), 1), day("2026-01-01"));
    assert_eq!(fiscal_year_start(day("2026-06-30"), 7), day("2025-07-01"));
    assert_eq!(fiscal_year_start(day("2026-07-01"), 7), day("2026-07-01"));
    assert_eq!(fiscal_year_start(day("2026-01-15"), 2), day("2025-02-01"));
    assert_eq!(fiscal_year_start(day("2026-12-31"), 12), day("2026-12-01"));
}

#[test]
fn a_period_across_two_fiscal_years_is_refused() {
    let mut s = Setup::november();
    s.consultant.fiscal_year_start_month = 7;
    s.from = day("2026-06-01");
    s.to = day("2026-07-31");
    let e = err(&s);
    assert!(matches!(e, DatevError::PeriodSpansFiscalYears { .. }));
    assert_eq!(e.code(), "spans_fiscal_years");
    // The same months are one fiscal year when it is the calendar year.
    s.consultant.fiscal_year_start_month = 1;
    assert!(s.run().is_ok());
}

#[test]
fn a_period_across_two_calendar_years_or_backwards_is_refused() {
    let mut s = Setup::november();
    s.consultant.fiscal_year_start_month = 7;
    s.from = day("2026-12-01");
    s.to = day("2027-01-31");
    assert!(matches!(
        err(&s),
        DatevError::PeriodSpansCalendarYears { .. }
    ));
    s.from = day("2026-11-30");
    s.to = day("2026-11-01");
    assert!(matches!(err(&s), DatevError::PeriodReversed { .. }));
}

#[test]
fn consultant_numbers_out_of_range_are_refused() {
    let mut s = Setup::november();
    s.consultant.consultant_number = 1000;
    assert!(matches!(
        err(&s),
        DatevError::BadConsultant {
            field: "Beraternummer",
            ..
        }
    ));
    let mut s = Setup::november();
    s.consultant.client_number = 100_000;
    assert!(matches!(
        err(&s),
        DatevError::BadConsultant {
            field: "Mandantennummer",
            ..
        }
    ));
    let mut s = Setup::november();
    s.consultant.account_length = 9;
    assert!(matches!(
        err(&s),
        DatevError::BadConsultant {
            field: "Sachkontenlänge",
            ..
        }
    ));
}

#[test]
fn drafts_foreign_currencies_and_documents_outside_the_period_are_refused() {
    let mut draft = invoice("RE-2026-00001", "2026-11-05");
    draft.invoice.status = InvoiceStatus::Draft;
    draft.invoice.number = None;
    assert!(matches!(
        err(&Setup::november().with(draft)),
        DatevError::NotReleased { .. }
    ));

    let mut chf = invoice("RE-2026-00001", "2026-11-05");
    chf.invoice.currency = "CHF".into();
    assert!(matches!(
        err(&Setup::november().with(chf)),
        DatevError::NotEur { .. }
    ));

    let october = invoice("RE-2026-00001", "2026-10-31");
    match err(&Setup::november().with(october)) {
        DatevError::OutsidePeriod { number, issue_date } => {
            assert_eq!(
                (number.as_str(), issue_date),
                ("RE-2026-00001", day("2026-10-31"))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_document_number_datev_cannot_take_is_refused() {
    let long = "1".repeat(37);
    for number in ["RE 2026 1", "RE_2026_1", "RE-2026-ÄÖ", &long] {
        let e = err(&Setup::november().with(invoice(number, "2026-11-05")));
        assert!(
            matches!(e, DatevError::BadDocumentNumber { .. }),
            "{number}: {e:?}"
        );
    }
    let ok = "RE$&%*+-/2026";
    assert!(
        Setup::november()
            .with(invoice(ok, "2026-11-05"))
            .run()
            .is_ok()
    );
}

#[test]
fn a_bad_debtor_account_is_refused_naming_the_customer() {
    for debtor in ["1000", "100001", "70001", "1000a", "00001"] {
        let mut s = Setup::november().with(invoice("RE-2026-00001", "2026-11-05"));
        s.docs[0].1 = debtor.into();
        match err(&s) {
            DatevError::BadDebtorAccount {
                customer,
                account,
                length,
            } => {
                assert_eq!(
                    (customer.as_str(), account.as_str(), length),
                    ("K-1001", debtor, 5)
                );
            }
            other => panic!("{debtor}: {other:?}"),
        }
    }
}

#[test]
fn more_than_99999_bookings_are_refused() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.vat_breakdown = vec![group(VatCategory::S, "19", "1.00", "0.19"); ROWS_MAX + 1];
    assert!(matches!(
        err(&Setup::november().with(doc)),
        DatevError::TooManyRows { rows: 100_000 }
    ));
}

/// Σ Umsatz per Gegenkonto, credit notes negative.
fn sums(rows: &[Vec<Field>]) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for row in rows {
        let amount = d(&col(row, 1).replace(',', "."));
        let signed = if col(row, 2) == "S" { amount } else { -amount };
        *out.entry(col(row, 8).to_owned()).or_default() += signed;
    }
    out
}

#[test]
fn the_sums_per_revenue_account_are_the_documents_gross_per_group() {
    let mut a = invoice("RE-2026-00001", "2026-11-03");
    a.vat_breakdown = vec![
        group(VatCategory::S, "19.00", "1237.50", "235.13"),
        group(VatCategory::S, "7.00", "237.50", "16.63"),
    ];
    let mut b = invoice("RE-2026-00002", "2026-11-10");
    b.vat_breakdown = vec![
        group(VatCategory::S, "19.00", "0.09", "0.02"),
        group(VatCategory::O, "0.00", "800.00", "0.00"),
    ];
    let mut c = invoice("RE-2026-00003", "2026-11-11");
    c.invoice.buyer.0.address = Some(address("AT"));
    c.invoice.buyer.0.vat_id = Some("ATU12345678".into());
    c.vat_breakdown = vec![
        group(VatCategory::AE, "0.00", "500.00", "0.00"),
        group(VatCategory::K, "0.00", "1500.00", "0.00"),
    ];
    let mut credit = credit_note("GS-2026-00001", "2026-11-20", "RE-2026-00001");
    credit.vat_breakdown = vec![group(VatCategory::S, "19.00", "100.00", "19.00")];
    let rows = Setup::november()
        .with(a)
        .with(b)
        .with(c)
        .with(credit)
        .rows();
    assert_eq!(rows.len(), 7);
    let want: BTreeMap<String, Decimal> = [
        ("8400", d("1472.63") + d("0.11") - d("119.00")),
        ("8300", d("254.13")),
        ("8338", d("800.00")),
        ("8336", d("500.00")),
        ("8125", d("1500.00")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(sums(&rows), want);
}

#[test]
fn reverse_charge_is_eu_or_domestic_by_the_buyers_country() {
    let mut eu = invoice("RE-2026-00001", "2026-11-05");
    eu.invoice.buyer.0.address = Some(address("AT"));
    eu.invoice.buyer.0.vat_id = Some("ATU 1234-5678".into());
    eu.vat_breakdown = vec![group(VatCategory::AE, "0", "500.00", "0.00")];
    let mut home = eu.clone();
    home.invoice.number = Some("RE-2026-00002".into());
    home.invoice.buyer.0.address = Some(address("DE"));
    home.invoice.buyer.0.vat_id = Some("DE123456789".into());
    let mut greek = eu.clone();
    greek.invoice.number = Some("RE-2026-00003".into());
    greek.invoice.buyer.0.address = None;
    greek.invoice.buyer.0.vat_id = Some("EL123456789".into());
    let rows = Setup::november().with(eu).with(home).with(greek).rows();
    assert_eq!(
        (col(&rows[0], 8), col(&rows[0], 40)),
        ("8336", "ATU12345678")
    );
    assert!(rows[0][39].quoted);
    assert_eq!(
        (col(&rows[1], 8), col(&rows[1], 40)),
        ("8337", ""),
        "§13b at home: no ZM"
    );
    assert_eq!(
        (col(&rows[2], 8), col(&rows[2], 40)),
        ("8336", "EL123456789")
    );
}

#[test]
fn each_category_has_its_standard_account_in_both_charts() {
    let cases = [
        (VatCategory::S, "19", "8400", "4400"),
        (VatCategory::S, "7", "8300", "4300"),
        (VatCategory::O, "0", "8338", "4338"),
        (VatCategory::G, "0", "8120", "4120"),
        (VatCategory::E, "0", "8100", "4100"),
        (VatCategory::K, "0", "8125", "4125"),
    ];
    for (category, rate, skr03, skr04) in cases {
        let mut doc = invoice("RE-2026-00001", "2026-11-05");
        doc.invoice.buyer.0.vat_id = Some("FR12345678901".into());
        doc.vat_breakdown = vec![group(category, rate, "10.00", "0.00")];
        let mut s = Setup::november().with(doc);
        assert_eq!(col(&s.rows()[0], 8), skr03, "{category:?} {rate}");
        s.consultant.chart = ChartOfAccounts::Skr04;
        assert_eq!(col(&s.rows()[0], 8), skr04, "{category:?} {rate}");
        s.consultant.account_length = 5;
        s.docs[0].1 = "100001".into();
        assert_eq!(
            col(&s.rows()[0], 8),
            format!("{skr04}0"),
            "widened like DATEV"
        );
    }
}

#[test]
fn the_tenants_account_wins_over_the_standard_one() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.vat_breakdown
        .push(group(VatCategory::S, "7", "10.00", "0.70"));
    let mut s = Setup::november().with(doc);
    s.accounts.insert("revenue_19".into(), "8401".into());
    let rows = s.rows();
    assert_eq!(col(&rows[0], 8), "8401");
    assert_eq!(col(&rows[1], 8), "8300", "the others keep theirs");
}

#[test]
fn a_rate_or_category_without_an_account_is_an_error_naming_the_key() {
    let cases = [
        (VatCategory::S, "16.00", "revenue_s_16"),
        (VatCategory::S, "5.50", "revenue_s_5_5"),
        (VatCategory::Z, "0.00", "revenue_zero_rated"),
    ];
    for (category, rate, key) in cases {
        let mut doc = invoice("RE-2026-00001", "2026-11-05");
        doc.vat_breakdown = vec![group(category, rate, "100.00", "0.00")];
        let mut s = Setup::november().with(doc);
        let e = err(&s);
        assert!(e.to_string().contains(key), "{e}");
        assert!(
            matches!(&e, DatevError::NoAccount { key: k } if k == key),
            "{e:?}"
        );
        assert_eq!(e.code(), "account_missing");
        s.accounts.insert(key.into(), "8410".into());
        assert_eq!(col(&s.rows()[0], 8), "8410");
    }
}

#[test]
fn a_tenants_account_of_the_wrong_length_is_an_error_naming_the_key() {
    for value in ["840", "84000", "84a0", "0000"] {
        let mut s = Setup::november().with(invoice("RE-2026-00001", "2026-11-05"));
        s.accounts.insert("revenue_19".into(), value.into());
        match err(&s) {
            DatevError::BadAccount { key, length, .. } => {
                assert_eq!((key.as_str(), length), ("revenue_19", 4), "{value}");
            }
            other => panic!("{value}: {other:?}"),
        }
    }
}

#[test]
fn intra_eu_bookings_need_the_buyers_vat_id_and_country() {
    let mut k = invoice("RE-2026-00001", "2026-11-05");
    k.invoice.buyer.0.address = Some(address("FR"));
    k.vat_breakdown = vec![group(VatCategory::K, "0", "100.00", "0.00")];
    assert!(matches!(
        err(&Setup::november().with(k.clone())),
        DatevError::MissingVatId { .. }
    ));
    k.invoice.buyer.0.vat_id = Some("F1".into());
    assert!(matches!(
        err(&Setup::november().with(k)),
        DatevError::BadVatId { .. }
    ));

    let mut ae = invoice("RE-2026-00002", "2026-11-05");
    ae.invoice.buyer.0.address = None;
    ae.vat_breakdown = vec![group(VatCategory::AE, "0", "100.00", "0.00")];
    assert!(matches!(
        err(&Setup::november().with(ae)),
        DatevError::BuyerCountryUnknown { .. }
    ));
}
