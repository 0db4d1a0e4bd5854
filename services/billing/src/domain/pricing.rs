//! What a contract charges for a period: its monthly fee (prorated by days
//! for partial months), its prepaid block, and the time booked under it,
//! rounded up per entry to the contract's billing increment before it is
//! priced. Pure: the repo hands in what is known, the run writes the lines.
//!
//! The fee is charged per calendar month, once: a run whose period touches
//! a month charges that month's fee for the days the contract is active in
//! it, whatever part of the month the run covers, so runs over overlapping
//! or partial periods neither charge a month twice nor leave part of it
//! out. Included hours are a month's too, less what earlier runs billed of
//! that month.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::money::cents;

/// How a contract bills (CRM's contract types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A monthly fee with included hours per month; time beyond them is overage.
    ManagedServices,
    /// Time only, at the hourly rate.
    TimeAndMaterials,
    /// A prepaid block of hours, charged once; time beyond it is overage.
    BlockHours,
    /// Billed like time and materials.
    Project,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "managed_services" => Self::ManagedServices,
            "time_and_materials" => Self::TimeAndMaterials,
            "block_hours" => Self::BlockHours,
            "project" => Self::Project,
            _ => return None,
        })
    }
}

/// A contract's billing terms, from the projection of CRM's contracts.
#[derive(Debug, Clone)]
pub struct Terms {
    pub id: Uuid,
    pub name: String,
    pub kind: Kind,
    pub hourly_rate: Option<Decimal>,
    pub monthly_fee: Option<Decimal>,
    pub included_hours: Option<Decimal>,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub increment_minutes: i32,
}

/// An approved time entry to be billed under the contract.
#[derive(Debug, Clone)]
pub struct Work {
    pub item: Uuid,
    pub ticket: Uuid,
    /// `T-000123 Printer on fire`.
    pub ticket_label: String,
    pub date: NaiveDate,
    pub minutes: i32,
}

/// What was charged before under the contract.
#[derive(Debug, Clone, Default)]
pub struct Charged {
    /// The months (their first days) whose fee was charged already.
    pub fees: HashSet<NaiveDate>,
    pub block: bool,
    /// Minutes billed under the contract so far (a block's consumption).
    pub minutes: i64,
    /// Minutes billed per month (its first day): what of a month's included
    /// hours is used.
    pub month_minutes: HashMap<NaiveDate, i64>,
}

/// A charge that must happen once per contract (the database's key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    Fee(NaiveDate),
    Block(NaiveDate),
}

/// A line's kind, as `invoice_lines.kind` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Fee,
    Time,
    Overage,
    Block,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fee => "fee",
            Self::Time => "time",
            Self::Overage => "overage",
            Self::Block => "block",
        }
    }
}

/// The first day of `d`'s month.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

/// A priced line before it has VAT (which depends on the buyer).
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    pub kind: LineKind,
    pub description: String,
    pub quantity: Decimal,
    /// UN/ECE Rec 20: `HUR` hours, `MON` months, `DAY` days, `C62` pieces.
    pub unit_code: &'static str,
    pub unit_price: Decimal,
    pub net: Decimal,
    pub period: (NaiveDate, NaiveDate),
    pub charge: Option<Charge>,
}

/// A period's result for one contract.
#[derive(Debug, Default)]
pub struct Billed {
    pub lines: Vec<Priced>,
    /// Items and their billed (rounded) minutes, with the index of the
    /// line that bills them (at nothing when included or prepaid hours
    /// cover them).
    pub items: Vec<(Uuid, i32, Option<usize>)>,
    /// Why something could not be billed (it stays approved for a later run).
    pub warnings: Vec<String>,
}

/// Minutes rounded up to the increment (at least one increment).
pub fn rounded(minutes: i32, increment: i32) -> i32 {
    let inc = increment.max(1);
    (minutes + inc - 1) / inc * inc
}

fn hours(minutes: i64) -> Decimal {
    (Decimal::from(minutes) / Decimal::from(60)).round_dp(4)
}

/// `minutes` at `rate` per hour, in cents.
fn time_amount(minutes: i64, rate: Decimal) -> Decimal {
    cents(rate * Decimal::from(minutes) / Decimal::from(60))
}

fn month_end(d: NaiveDate) -> NaiveDate {
    let first = d.with_day(1).expect("day 1 exists");
    first + Months::new(1) - chrono::Days::new(1)
}

fn days(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days() + 1
}

/// The calendar-month pieces of `from..=to`.
pub fn months(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = vec![];
    let mut start = from;
    while start <= to {
        let end = month_end(start).min(to);
        out.push((start, end));
        start = end + chrono::Days::new(1);
    }
    out
}

fn fmt_hours(minutes: i64) -> String {
    hours(minutes).normalize().to_string()
}

/// What `terms` charges for `period` given the work and what was charged.
pub fn bill(
    terms: &Terms,
    period: (NaiveDate, NaiveDate),
    work: &[Work],
    charged: &Charged,
) -> Billed {
    let mut out = Billed::default();
    let from = period.0.max(terms.start);
    let to = terms.end.map_or(period.1, |e| e.min(period.1));
    if from > to {
        return out;
    }
    let work: Vec<&Work> = work
        .iter()
        .filter(|w| w.date >= from && w.date <= to)
        .collect();
    match terms.kind {
        Kind::ManagedServices => managed(terms, from, to, &work, charged, &mut out),
        Kind::BlockHours => block(terms, period, &work, charged, &mut out),
        Kind::TimeAndMaterials | Kind::Project => {
            time_by_ticket(terms, &work, &mut out);
        }
    }
    out
}

fn managed(
    terms: &Terms,
    from: NaiveDate,
    to: NaiveDate,
    work: &[&Work],
    charged: &Charged,
    out: &mut Billed,
) {
    let included = minutes_of(terms.included_hours);
    for (start, end) in months(from, to) {
        let first = month_start(start);
        if let Some(fee) = terms.monthly_fee
            && !charged.fees.contains(&first)
        {
            // The month's days the contract is active, whatever the run covers.
            let last = month_end(first);
            let (active_from, active_to) = (
                first.max(terms.start),
                terms.end.map_or(last, |e| e.min(last)),
            );
            let in_month = days(first, last);
            let active = days(active_from, active_to);
            let (quantity, unit_code, unit_price, net) = if active == in_month {
                (Decimal::ONE, "MON", fee, cents(fee))
            } else {
                (
                    Decimal::from(active),
                    "DAY",
                    (fee / Decimal::from(in_month)).round_dp(4),
                    cents(fee * Decimal::from(active) / Decimal::from(in_month)),
                )
            };
            out.lines.push(Priced {
                kind: LineKind::Fee,
                description: format!("{}: monthly fee {active_from} – {active_to}", terms.name),
                quantity,
                unit_code,
                unit_price,
                net,
                period: (active_from, active_to),
                charge: Some(Charge::Fee(first)),
            });
        }
        let month: Vec<&Work> = work
            .iter()
            .copied()
            .filter(|w| w.date >= start && w.date <= end)
            .collect();
        if month.is_empty() {
            continue;
        }
        let total: i64 = month
            .iter()
            .map(|w| i64::from(rounded(w.minutes, terms.increment_minutes)))
            .sum();
        let used = charged.month_minutes.get(&first).copied().unwrap_or(0);
        let left = (included - used).max(0);
        let over = (total - left).max(0);
        let line = if over > 0 {
            let Some(rate) = terms.hourly_rate else {
                out.warnings.push(format!(
                    "{}: {} h beyond the included hours in {start} – {end}, but the contract has no hourly rate",
                    terms.name,
                    fmt_hours(over)
                ));
                continue;
            };
            Priced {
                kind: LineKind::Overage,
                description: format!(
                    "{}: {} h beyond {} included hours, {start} – {end}",
                    terms.name,
                    fmt_hours(over),
                    fmt_hours(included)
                ),
                quantity: hours(over),
                unit_code: "HUR",
                unit_price: rate,
                net: time_amount(over, rate),
                period: (start, end),
                charge: None,
            }
        } else {
            covered(
                format!(
                    "{}: {} h within {} included hours, {start} – {end}",
                    terms.name,
                    fmt_hours(total),
                    fmt_hours(included)
                ),
                total,
                (start, end),
            )
        };
        link(out, line, &month, terms.increment_minutes);
    }
}

/// Minutes of a number of hours.
fn minutes_of(hours: Option<Decimal>) -> i64 {
    hours.map_or(0, |h| {
        (h * Decimal::from(60)).trunc().try_into().unwrap_or(0)
    })
}

/// A line of time that included or prepaid hours cover: on the document at
/// nothing, so what was used is shown and recorded.
fn covered(description: String, minutes: i64, period: (NaiveDate, NaiveDate)) -> Priced {
    Priced {
        kind: LineKind::Time,
        description,
        quantity: hours(minutes),
        unit_code: "HUR",
        unit_price: Decimal::ZERO,
        net: Decimal::ZERO,
        period,
        charge: None,
    }
}

/// Adds `line` and bills `work` on it.
fn link(out: &mut Billed, line: Priced, work: &[&Work], increment: i32) {
    out.lines.push(line);
    let index = out.lines.len() - 1;
    for w in work {
        out.items
            .push((w.item, rounded(w.minutes, increment), Some(index)));
    }
}

fn block(
    terms: &Terms,
    period: (NaiveDate, NaiveDate),
    work: &[&Work],
    charged: &Charged,
    out: &mut Billed,
) {
    let block_minutes = minutes_of(terms.included_hours);
    // Charged once, in the first run that reaches the contract's start.
    if !charged.block && terms.start <= period.1 {
        let price = terms
            .monthly_fee
            .or_else(|| terms.hourly_rate.map(|r| time_amount(block_minutes, r)));
        match price {
            Some(price) => out.lines.push(Priced {
                kind: LineKind::Block,
                description: format!(
                    "{}: prepaid block of {} h",
                    terms.name,
                    fmt_hours(block_minutes)
                ),
                quantity: Decimal::ONE,
                unit_code: "C62",
                unit_price: price,
                net: cents(price),
                period: (terms.start, terms.end.unwrap_or(period.1).max(terms.start)),
                charge: Some(Charge::Block(terms.start)),
            }),
            None => out.warnings.push(format!(
                "{}: the block has no price (neither a monthly fee nor an hourly rate)",
                terms.name
            )),
        }
    }
    if work.is_empty() {
        return;
    }
    let total: i64 = work
        .iter()
        .map(|w| i64::from(rounded(w.minutes, terms.increment_minutes)))
        .sum();
    let left = (block_minutes - charged.minutes).max(0);
    let over = (total - left).max(0);
    let first = work.iter().map(|w| w.date).min().expect("work");
    let last = work.iter().map(|w| w.date).max().expect("work");
    let line = if over > 0 {
        let Some(rate) = terms.hourly_rate else {
            out.warnings.push(format!(
                "{}: {} h beyond the block, but the contract has no hourly rate",
                terms.name,
                fmt_hours(over)
            ));
            return;
        };
        Priced {
            kind: LineKind::Overage,
            description: format!(
                "{}: {} h beyond the prepaid block",
                terms.name,
                fmt_hours(over)
            ),
            quantity: hours(over),
            unit_code: "HUR",
            unit_price: rate,
            net: time_amount(over, rate),
            period: (first, last),
            charge: None,
        }
    } else {
        covered(
            format!(
                "{}: {} h from the prepaid block, {} h left",
                terms.name,
                fmt_hours(total),
                fmt_hours(left - total)
            ),
            total,
            (first, last),
        )
    };
    link(out, line, work, terms.increment_minutes);
}

/// Time at the hourly rate, one line per ticket.
fn time_by_ticket(terms: &Terms, work: &[&Work], out: &mut Billed) {
    if work.is_empty() {
        return;
    }
    let Some(rate) = terms.hourly_rate else {
        out.warnings.push(format!(
            "{}: time to bill, but the contract has no hourly rate",
            terms.name
        ));
        return;
    };
    let mut tickets: BTreeMap<(String, Uuid), Vec<&Work>> = BTreeMap::new();
    for w in work {
        tickets
            .entry((w.ticket_label.clone(), w.ticket))
            .or_default()
            .push(w);
    }
    for ((label, _), entries) in tickets {
        let minutes: i64 = entries
            .iter()
            .map(|w| i64::from(rounded(w.minutes, terms.increment_minutes)))
            .sum();
        let first = entries.iter().map(|w| w.date).min().expect("entries");
        let last = entries.iter().map(|w| w.date).max().expect("entries");
        out.lines.push(Priced {
            kind: LineKind::Time,
            description: format!("{label}: {} h", fmt_hours(minutes)),
            quantity: hours(minutes),
            unit_code: "HUR",
            unit_price: rate,
            net: time_amount(minutes, rate),
            period: (first, last),
            charge: None,
        });
        let line = out.lines.len() - 1;
        for w in entries {
            out.items.push((
                w.item,
                rounded(w.minutes, terms.increment_minutes),
                Some(line),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
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
}
