//! The pricing of months, blocks and time.

use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn msa(start: &str) -> Terms {
    Terms {
        id: Uuid::now_v7(),
        name: "MSA".into(),
        kind: Kind::ManagedServices,
        hourly_rate: Some(d("95.00")),
        monthly_fee: Some(d("1000.00")),
        included_hours: Some(d("10")),
        start: date(start),
        end: None,
        increment_minutes: 15,
    }
}

fn work(day: &str, minutes: i32) -> Work {
    Work {
        item: Uuid::now_v7(),
        ticket: Uuid::nil(),
        ticket_label: "T-000001 Mail".into(),
        date: date(day),
        minutes,
    }
}

const NOV: (&str, &str) = ("2026-11-01", "2026-11-30");

fn nov() -> (NaiveDate, NaiveDate) {
    (date(NOV.0), date(NOV.1))
}

#[test]
fn a_full_month_is_the_fee_and_the_overage_beyond_the_included_hours() {
    // 12 h 30 min in five entries, each a multiple of the increment.
    let w = [
        work("2026-11-02", 180),
        work("2026-11-03", 180),
        work("2026-11-10", 120),
        work("2026-11-11", 150),
        work("2026-11-20", 120),
    ];
    let b = bill(&msa("2026-01-01"), nov(), &w, &Charged::default());
    assert_eq!(b.lines.len(), 2, "{:?}", b.lines);
    assert_eq!(
        (b.lines[0].kind, b.lines[0].net),
        (LineKind::Fee, d("1000.00"))
    );
    assert_eq!(b.lines[0].unit_code, "MON");
    let over = &b.lines[1];
    assert_eq!(over.kind, LineKind::Overage);
    assert_eq!(
        (over.quantity, over.unit_price, over.net),
        (d("2.5"), d("95.00"), d("237.50"))
    );
    assert_eq!(
        b.items.len(),
        5,
        "every item is billed, the included ones too"
    );
}

#[test]
fn a_contract_from_day_16_of_a_30_day_month_pays_15_30_of_the_fee() {
    let b = bill(&msa("2026-11-16"), nov(), &[], &Charged::default());
    assert_eq!(b.lines.len(), 1);
    assert_eq!(b.lines[0].net, d("500.00"));
    assert_eq!(
        (b.lines[0].quantity, b.lines[0].unit_code),
        (d("15"), "DAY")
    );
    assert_eq!(b.lines[0].period, (date("2026-11-16"), date("2026-11-30")));
}

#[test]
fn time_before_the_start_is_not_the_contract_s() {
    let b = bill(
        &msa("2026-11-16"),
        nov(),
        &[work("2026-11-02", 60)],
        &Charged::default(),
    );
    assert!(b.items.is_empty());
}

#[test]
fn a_charged_month_is_not_charged_again() {
    let charged = Charged {
        fees: [date("2026-11-01")].into(),
        ..Charged::default()
    };
    let b = bill(&msa("2026-01-01"), nov(), &[], &charged);
    assert!(b.lines.is_empty());
}

#[test]
fn each_entry_is_rounded_up_to_the_increment_before_pricing() {
    assert_eq!(rounded(1, 15), 15);
    assert_eq!(rounded(15, 15), 15);
    assert_eq!(rounded(16, 15), 30);
    assert_eq!(rounded(7, 6), 12);
    let mut t = msa("2026-01-01");
    t.kind = Kind::TimeAndMaterials;
    t.monthly_fee = None;
    let b = bill(
        &t,
        nov(),
        &[work("2026-11-02", 20), work("2026-11-03", 50)],
        &Charged::default(),
    );
    // 30 + 60 minutes = 1.5 h at 95.
    assert_eq!(b.lines.len(), 1);
    assert_eq!(
        (b.lines[0].quantity, b.lines[0].net),
        (d("1.5"), d("142.50"))
    );
}

#[test]
fn no_rollover_each_month_has_its_included_hours() {
    let w = [work("2026-10-05", 600), work("2026-11-05", 660)];
    let b = bill(
        &msa("2026-01-01"),
        (date("2026-10-01"), date("2026-11-30")),
        &w,
        &Charged::default(),
    );
    let over: Vec<_> = b
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Overage)
        .collect();
    assert_eq!(over.len(), 1, "October used exactly its 10 h");
    assert_eq!(over[0].quantity, d("1"));
}

#[test]
fn a_block_is_charged_once_and_consumed_across_periods() {
    let mut t = msa("2026-11-01");
    t.kind = Kind::BlockHours;
    t.monthly_fee = Some(d("850.00"));
    let b = bill(&t, nov(), &[work("2026-11-03", 480)], &Charged::default());
    assert_eq!(b.lines.len(), 2, "the block, and 8 of its 10 h used");
    assert_eq!(
        (b.lines[0].kind, b.lines[0].net),
        (LineKind::Block, d("850.00"))
    );
    assert_eq!((b.lines[1].quantity, b.lines[1].net), (d("8"), d("0")));
    assert_eq!(b.items.len(), 1, "the used hours are recorded");
    let charged = Charged {
        block: true,
        minutes: 480,
        ..Charged::default()
    };
    let dec = (date("2026-12-01"), date("2026-12-31"));
    let b = bill(&t, dec, &[work("2026-12-03", 180)], &charged);
    assert_eq!(b.lines.len(), 1);
    assert_eq!(
        (b.lines[0].kind, b.lines[0].quantity),
        (LineKind::Overage, d("1"))
    );
}

#[test]
fn a_block_that_started_before_the_period_is_charged_in_the_first_run() {
    let mut t = msa("2026-10-20");
    t.kind = Kind::BlockHours;
    t.monthly_fee = Some(d("850.00"));
    let b = bill(&t, nov(), &[], &Charged::default());
    assert_eq!((b.lines.len(), b.lines[0].kind), (1, LineKind::Block));
}

#[test]
fn a_month_s_fee_is_charged_once_whatever_part_a_run_covers() {
    let first_half = (date("2026-11-01"), date("2026-11-15"));
    let b = bill(&msa("2026-01-01"), first_half, &[], &Charged::default());
    assert_eq!(
        (b.lines.len(), b.lines[0].net),
        (1, d("1000.00")),
        "the whole month"
    );
    assert_eq!(b.lines[0].charge, Some(Charge::Fee(date("2026-11-01"))));
    let charged = Charged {
        fees: [date("2026-11-01")].into(),
        ..Charged::default()
    };
    let second_half = (date("2026-11-16"), date("2026-11-30"));
    assert!(
        bill(&msa("2026-01-01"), second_half, &[], &charged)
            .lines
            .is_empty()
    );
}

#[test]
fn included_hours_a_run_billed_are_not_included_again() {
    let charged = Charged {
        fees: [date("2026-11-01")].into(),
        month_minutes: [(date("2026-11-01"), 720)].into(),
        ..Charged::default()
    };
    let b = bill(
        &msa("2026-01-01"),
        nov(),
        &[work("2026-11-20", 180)],
        &charged,
    );
    assert_eq!(b.lines.len(), 1);
    assert_eq!(
        (b.lines[0].kind, b.lines[0].quantity),
        (LineKind::Overage, d("3"))
    );
}

#[test]
fn time_within_the_included_hours_is_shown_at_nothing() {
    let b = bill(
        &msa("2026-01-01"),
        nov(),
        &[work("2026-11-20", 90)],
        &Charged::default(),
    );
    assert_eq!(b.lines.len(), 2);
    assert_eq!(
        (b.lines[1].kind, b.lines[1].quantity, b.lines[1].net),
        (LineKind::Time, d("1.5"), d("0"))
    );
    assert_eq!(b.items[0].2, Some(1));
}

#[test]
fn months_split_a_period_at_month_ends() {
    assert_eq!(
        months(date("2026-01-20"), date("2026-03-05")),
        vec![
            (date("2026-01-20"), date("2026-01-31")),
            (date("2026-02-01"), date("2026-02-28")),
            (date("2026-03-01"), date("2026-03-05")),
        ]
    );
}
