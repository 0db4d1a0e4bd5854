//! A tenant's settings of the assets module: when the watch runs and at
//! which thresholds it reports.

use chrono::{DateTime, NaiveDate, Utc};
use psa_http::FieldError;
use psa_http::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most thresholds a tenant sets.
pub const THRESHOLDS_MAX: usize = 10;
/// The furthest threshold: about three years.
pub const THRESHOLD_DAYS_MAX: i32 = 1100;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct AssetSettings {
    /// The IANA time zone the watch's day and hour are in.
    pub time_zone: String,
    /// The local hour (0-23) from which the daily watch runs.
    pub watch_hour: i16,
    /// Days before a warranty end, end of life or expiry at which the
    /// watch reports (0: the day itself).
    pub thresholds: Vec<i32>,
    /// The local day the watch last ran for the tenant.
    pub last_watch_date: Option<NaiveDate>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetSettingsInput {
    /// An IANA time zone.
    #[schema(value_type = psa_crm::domain::validate::TimeZone, example = "Europe/Berlin")]
    pub time_zone: String,
    #[schema(minimum = 0, maximum = 23)]
    pub watch_hour: i16,
    #[schema(max_items = 10)]
    pub thresholds: Vec<i32>,
}

impl AssetSettingsInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        if self.time_zone.len() > 64 || self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            e.add(
                "time_zone",
                "must be an IANA time zone such as Europe/Berlin",
            );
        }
        if !(0..=23).contains(&self.watch_hour) {
            e.add_code("watch_hour", "out_of_range", "must be 0 to 23");
        }
        if self.thresholds.len() > THRESHOLDS_MAX {
            e.add("thresholds", format!("at most {THRESHOLDS_MAX} thresholds"));
        }
        if self
            .thresholds
            .iter()
            .any(|t| !(0..=THRESHOLD_DAYS_MAX).contains(t))
        {
            e.add_code(
                "thresholds",
                "out_of_range",
                format!("each must be 0 to {THRESHOLD_DAYS_MAX} days"),
            );
        }
        let mut sorted = self.thresholds.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.thresholds.len() {
            e.add_code("thresholds", "duplicate", "each threshold once");
        }
        e.finish()
    }
}

impl From<&AssetSettings> for AssetSettingsInput {
    fn from(s: &AssetSettings) -> Self {
        Self {
            time_zone: s.time_zone.clone(),
            watch_hour: s.watch_hour,
            thresholds: s.thresholds.clone(),
        }
    }
}
