//! SLA clocks in business time: a calendar of weekly windows in a time zone
//! (weekends and nights not counted, DST handled by the zone), adding
//! business minutes to an instant and measuring business minutes between two;
//! the due times a contract's terms give a ticket, and how waiting pauses them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use psa_crm::domain::contract::{self as crm, BusinessHours, SlaTarget, SlaTerms};
use uuid::Uuid;

use crate::domain::ticket::{Priority, Status};

#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    /// (weekday, start, end) in local time.
    pub windows: Vec<(Weekday, NaiveTime, NaiveTime)>,
}

impl Calendar {
    /// Around the clock (when a contract gives no business hours): no windows.
    pub fn always() -> Self {
        Self {
            tz: Tz::UTC,
            windows: Vec::new(),
        }
    }

    /// The contract's business hours; None when they name no valid window
    /// (the clock then runs around the clock).
    pub fn from_doc(doc: &BusinessHours) -> Option<Self> {
        let tz: Tz = doc.time_zone.parse().ok()?;
        let mut windows = Vec::new();
        for w in &doc.windows {
            let day = match w.day {
                crm::Weekday::Mon => Weekday::Mon,
                crm::Weekday::Tue => Weekday::Tue,
                crm::Weekday::Wed => Weekday::Wed,
                crm::Weekday::Thu => Weekday::Thu,
                crm::Weekday::Fri => Weekday::Fri,
                crm::Weekday::Sat => Weekday::Sat,
                crm::Weekday::Sun => Weekday::Sun,
            };
            let start = NaiveTime::parse_from_str(&w.start, "%H:%M").ok()?;
            let end = NaiveTime::parse_from_str(&w.end, "%H:%M").ok()?;
            if start < end {
                windows.push((day, start, end));
            }
        }
        (!windows.is_empty()).then_some(Self { tz, windows })
    }

    /// The working intervals (UTC) of one local date, in order.
    fn intervals(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out: Vec<_> = self
            .windows
            .iter()
            .filter(|(d, _, _)| *d == date.weekday())
            .filter_map(|(_, s, e)| {
                // A local time skipped by DST moves to the next valid instant.
                let at = |t: NaiveTime| {
                    self.tz
                        .from_local_datetime(&date.and_time(t))
                        .earliest()
                        .or_else(|| {
                            self.tz
                                .from_local_datetime(&(date.and_time(t) + Duration::hours(1)))
                                .earliest()
                        })
                        .map(|d| d.with_timezone(&Utc))
                };
                Some((at(*s)?, at(*e)?))
            })
            .collect();
        out.sort();
        out
    }

    /// `start` plus `minutes` of business time.
    pub fn add(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        if self.windows.is_empty() {
            return start + Duration::minutes(minutes.max(0));
        }
        let mut left = Duration::minutes(minutes.max(0));
        let mut date = start.with_timezone(&self.tz).date_naive() - Duration::days(1);
        // Bounded: a calendar with at least one window meets it within two years.
        for _ in 0..800 {
            for (s, e) in self.intervals(date) {
                if e <= start {
                    continue;
                }
                let from = s.max(start);
                let span = e - from;
                if left <= span {
                    return from + left;
                }
                left -= span;
            }
            date += Duration::days(1);
        }
        start + Duration::minutes(minutes)
    }

    /// Business minutes between `a` and `b` (0 when b ≤ a).
    pub fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b <= a {
            return 0;
        }
        if self.windows.is_empty() {
            return (b - a).num_minutes();
        }
        let mut total = Duration::zero();
        let mut date = a.with_timezone(&self.tz).date_naive() - Duration::days(1);
        let last = b.with_timezone(&self.tz).date_naive() + Duration::days(1);
        while date <= last {
            for (s, e) in self.intervals(date) {
                let (from, to) = (s.max(a), e.min(b));
                if to > from {
                    total += to - from;
                }
            }
            date += Duration::days(1);
        }
        total.num_minutes()
    }
}

/// The contract in force for a ticket: which one, its calendar and targets.
#[derive(Debug, Clone)]
pub struct Terms {
    pub contract_id: Uuid,
    pub calendar: Calendar,
    pub targets: SlaTerms,
}

/// A ticket's due times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DueTimes {
    pub response: Option<DateTime<Utc>>,
    pub resolution: Option<DateTime<Utc>>,
}

impl Terms {
    /// The contract's terms; its business hours, when absent or unusable,
    /// leave the clock running around the clock.
    pub fn new(contract_id: Uuid, targets: SlaTerms, hours: Option<&BusinessHours>) -> Self {
        Self {
            contract_id,
            calendar: hours
                .and_then(Calendar::from_doc)
                .unwrap_or_else(Calendar::always),
            targets,
        }
    }

    fn target(&self, priority: Priority) -> SlaTarget {
        match priority {
            Priority::Low => self.targets.low,
            Priority::Medium => self.targets.medium,
            Priority::High => self.targets.high,
            Priority::Critical => self.targets.critical,
        }
    }

    /// The due times of a ticket of `priority` opened at `opened`.
    pub fn due_times(&self, priority: Priority, opened: DateTime<Utc>) -> DueTimes {
        let target = self.target(priority);
        let due = |minutes: u32| Some(self.calendar.add(opened, i64::from(minutes)));
        DueTimes {
            response: due(target.response_minutes),
            resolution: due(target.resolution_minutes),
        }
    }
}

/// The clocks of a ticket that a change of status or priority moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clocks {
    pub due: DueTimes,
    /// Since when the ticket waits (on the customer); the clocks stand still meanwhile.
    pub waiting_since: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What a ticket's change does to its clocks at `now`.
pub struct Change<'a> {
    pub terms: Option<&'a Terms>,
    pub opened: DateTime<Utc>,
    pub from: (Status, Priority),
    pub to: (Status, Priority),
    pub now: DateTime<Utc>,
}

impl Clocks {
    /// A new priority recomputes the due times from the opening; leaving
    /// `waiting` moves them by the business time paused; resolving stamps
    /// the resolution once, reopening clears it.
    pub fn after(self, change: &Change<'_>) -> Clocks {
        let (from, to) = (change.from.0, change.to.0);
        let mut next = self;
        if let Some(terms) = change.terms
            && change.to.1 != change.from.1
        {
            next.due = terms.due_times(change.to.1, change.opened);
        }
        if to == Status::Waiting && from != Status::Waiting {
            next.waiting_since = Some(change.now);
        }
        if from == Status::Waiting && to != Status::Waiting {
            if let (Some(since), Some(terms)) = (self.waiting_since, change.terms) {
                let paused = terms.calendar.between(since, change.now);
                let shift = |d: Option<DateTime<Utc>>| d.map(|d| terms.calendar.add(d, paused));
                next.due = DueTimes {
                    response: shift(next.due.response),
                    resolution: shift(next.due.resolution),
                };
            }
            next.waiting_since = None;
        }
        next.resolved_at = match to {
            Status::Resolved | Status::Closed => self.resolved_at.or(Some(change.now)),
            _ => None,
        };
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office(tz: &str) -> Calendar {
        let days = [
            crm::Weekday::Mon,
            crm::Weekday::Tue,
            crm::Weekday::Wed,
            crm::Weekday::Thu,
            crm::Weekday::Fri,
        ];
        Calendar::from_doc(&BusinessHours {
            time_zone: tz.into(),
            windows: days
                .into_iter()
                .map(|day| crm::BusinessWindow {
                    day,
                    start: "08:00".into(),
                    end: "17:00".into(),
                })
                .collect(),
        })
        .unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn friday_afternoon_plus_four_hours_lands_on_monday() {
        let cal = office("Europe/Berlin");
        // Fri 2026-11-20 15:00 Berlin (14:00Z): 2 h left on Friday, 2 h on Monday from 08:00.
        let due = cal.add(utc("2026-11-20T14:00:00Z"), 240);
        assert_eq!(due, utc("2026-11-23T09:00:00Z"), "Mon 10:00 Berlin");
        assert_eq!(cal.between(utc("2026-11-20T14:00:00Z"), due), 240);
    }

    #[test]
    fn out_of_hours_start_waits_for_the_next_window() {
        let cal = office("Europe/Berlin");
        // Saturday night → Monday 08:00 + 30 min.
        assert_eq!(
            cal.add(utc("2026-11-21T22:00:00Z"), 30),
            utc("2026-11-23T07:30:00Z")
        );
    }

    #[test]
    fn dst_change_keeps_local_business_hours() {
        let cal = office("Europe/Berlin");
        // Fri 2026-03-27 16:00 CET (15:00Z); DST starts Sun 29 March. One hour
        // on Friday, the second hour Monday 08:00-09:00 CEST = 06:00-07:00Z.
        assert_eq!(
            cal.add(utc("2026-03-27T15:00:00Z"), 120),
            utc("2026-03-30T07:00:00Z")
        );
        let ny = office("America/New_York");
        // New York leaves DST on Sun 2026-11-01: Fri 16:00 EDT (20:00Z) + 2 h → Mon 09:00 EST (14:00Z).
        assert_eq!(
            ny.add(utc("2026-10-30T20:00:00Z"), 120),
            utc("2026-11-02T14:00:00Z")
        );
    }

    #[test]
    fn a_pause_counts_only_business_time() {
        let cal = office("Europe/Berlin");
        // Waiting from Fri 16:00 to Mon 09:00 Berlin: 1 h Friday + 1 h Monday.
        assert_eq!(
            cal.between(utc("2026-11-20T15:00:00Z"), utc("2026-11-23T08:00:00Z")),
            120
        );
    }

    #[test]
    fn around_the_clock_is_wall_time() {
        let cal = Calendar::always();
        let t = utc("2026-11-21T23:00:00Z");
        assert_eq!(cal.add(t, 90), t + Duration::minutes(90));
        assert_eq!(cal.between(t, t + Duration::days(2)), 2 * 24 * 60);
    }

    fn terms() -> Terms {
        let t = |r, s| SlaTarget {
            response_minutes: r,
            resolution_minutes: s,
        };
        Terms {
            contract_id: Uuid::nil(),
            calendar: office("Europe/Berlin"),
            targets: SlaTerms {
                low: t(480, 4800),
                medium: t(240, 1440),
                high: t(60, 480),
                critical: t(15, 240),
            },
        }
    }

    #[test]
    fn leaving_waiting_moves_due_times_by_the_business_time_paused() {
        let terms = terms();
        let opened = utc("2026-11-16T08:00:00Z");
        let due = terms.due_times(Priority::High, opened);
        let waiting = Clocks {
            due,
            waiting_since: Some(utc("2026-11-20T15:00:00Z")),
            resolved_at: None,
        };
        let back = waiting.after(&Change {
            terms: Some(&terms),
            opened,
            from: (Status::Waiting, Priority::High),
            to: (Status::InProgress, Priority::High),
            now: utc("2026-11-23T08:00:00Z"),
        });
        assert_eq!(back.waiting_since, None);
        assert_eq!(
            back.due.resolution,
            due.resolution.map(|d| terms.calendar.add(d, 120))
        );
    }

    #[test]
    fn priority_change_recomputes_and_resolution_is_stamped_once() {
        let terms = terms();
        let opened = utc("2026-11-16T08:00:00Z");
        let now = utc("2026-11-17T08:00:00Z");
        let clocks = Clocks {
            due: terms.due_times(Priority::Low, opened),
            waiting_since: None,
            resolved_at: None,
        };
        let change = |from, to| Change {
            terms: Some(&terms),
            opened,
            from,
            to,
            now,
        };
        let raised = clocks.after(&change(
            (Status::Open, Priority::Low),
            (Status::Resolved, Priority::Critical),
        ));
        assert_eq!(raised.due, terms.due_times(Priority::Critical, opened));
        assert_eq!(raised.resolved_at, Some(now));
        let earlier = Clocks {
            resolved_at: Some(opened),
            ..raised
        };
        let closed = earlier.after(&change(
            (Status::Resolved, Priority::Critical),
            (Status::Closed, Priority::Critical),
        ));
        assert_eq!(closed.resolved_at, Some(opened), "kept from resolving");
        let reopened = closed.after(&change(
            (Status::Closed, Priority::Critical),
            (Status::Open, Priority::Critical),
        ));
        assert_eq!(reopened.resolved_at, None);
    }
}
