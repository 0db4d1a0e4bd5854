//! SLA clocks in business time: a calendar of weekly windows in a time zone
//! (weekends and nights not counted, DST handled by the zone), adding
//! business minutes to an instant and measuring business minutes between two.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    /// (weekday, start, end) in local time.
    pub windows: Vec<(Weekday, NaiveTime, NaiveTime)>,
}

/// The contract's `business_hours` as CRM publishes it.
#[derive(Debug, Deserialize)]
pub struct BusinessHoursDoc {
    pub time_zone: String,
    pub windows: Vec<WindowDoc>,
}

#[derive(Debug, Deserialize)]
pub struct WindowDoc {
    pub day: String,
    pub start: String,
    pub end: String,
}

impl Calendar {
    /// Around the clock (when a contract gives no business hours): no windows.
    pub fn always() -> Self {
        Self {
            tz: Tz::UTC,
            windows: Vec::new(),
        }
    }

    pub fn from_doc(doc: &BusinessHoursDoc) -> Option<Self> {
        let tz: Tz = doc.time_zone.parse().ok()?;
        let mut windows = Vec::new();
        for w in &doc.windows {
            let day = match w.day.as_str() {
                "mon" => Weekday::Mon,
                "tue" => Weekday::Tue,
                "wed" => Weekday::Wed,
                "thu" => Weekday::Thu,
                "fri" => Weekday::Fri,
                "sat" => Weekday::Sat,
                "sun" => Weekday::Sun,
                _ => return None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn office(tz: &str) -> Calendar {
        Calendar::from_doc(&BusinessHoursDoc {
            time_zone: tz.into(),
            windows: ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|d| WindowDoc {
                    day: (*d).into(),
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
}
