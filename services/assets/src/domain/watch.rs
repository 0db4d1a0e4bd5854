//! The warranty, end-of-life and expiry watch: which threshold an item has
//! crossed on a given day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Asset, License};

/// Thresholds a tenant starts with: days before the date.
pub const DEFAULT_THRESHOLDS: &[i32] = &[90, 30, 7, 0];

/// Dates further in the past than this are not reported any more (a record
/// of long-retired hardware imported today is not news).
pub const PAST_WINDOW_DAYS: i64 = 30;

/// The threshold to report for an item due on `due` as seen on `today`:
/// the latest one crossed (the smallest threshold not below the days left),
/// so a watch that missed days reports the current state once, not every
/// threshold it slept through. None before the first threshold and for
/// dates long past.
pub fn crossed(thresholds: &[i32], due: NaiveDate, today: NaiveDate) -> Option<i32> {
    let days_left = (due - today).num_days();
    if days_left < -PAST_WINDOW_DAYS {
        return None;
    }
    thresholds
        .iter()
        .copied()
        .filter(|&t| days_left <= i64::from(t))
        .min()
}

/// Which date of an asset crossed a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EolKind {
    /// The warranty ends (`warranty_end`).
    Warranty,
    /// The end of life (`eol_date`).
    Eol,
}

impl EolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warranty => "warranty",
            Self::Eol => "eol",
        }
    }
}

/// `asset.eol`: an asset's warranty end or end of life is `days_left` days
/// away (0: today; negative: passed), having crossed `threshold_days`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetEol {
    pub kind: EolKind,
    pub threshold_days: i32,
    pub due_date: NaiveDate,
    pub days_left: i64,
    pub asset: Asset,
}

/// `license.expiring`: a license expires in `days_left` days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LicenseExpiring {
    pub threshold_days: i32,
    pub due_date: NaiveDate,
    pub days_left: i64,
    pub license: License,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_latest_crossed_threshold() {
        let t = DEFAULT_THRESHOLDS;
        let today = day("2026-12-01");
        assert_eq!(crossed(t, day("2027-03-02"), today), None, "91 days");
        assert_eq!(crossed(t, day("2027-03-01"), today), Some(90), "90 days");
        assert_eq!(crossed(t, day("2026-12-31"), today), Some(30), "30 days");
        assert_eq!(crossed(t, day("2026-12-26"), today), Some(30), "25 days");
        assert_eq!(crossed(t, day("2026-12-08"), today), Some(7));
        assert_eq!(crossed(t, today, today), Some(0), "due today");
        assert_eq!(
            crossed(t, day("2026-11-20"), today),
            Some(0),
            "passed lately"
        );
        assert_eq!(crossed(t, day("2026-10-01"), today), None, "long past");
        assert_eq!(crossed(&[30, 7], day("2026-11-30"), today), Some(7));
        assert_eq!(crossed(&[], today, today), None);
    }
}
