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
mod tests;
