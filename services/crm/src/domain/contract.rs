use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::validate::{INCONSISTENT, TimeZone, valid_time_zone};
use psa_http::FieldError;
use psa_http::formats;
use psa_http::validate::FieldErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ContractType {
    ManagedServices,
    TimeAndMaterials,
    BlockHours,
    Project,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ContractStatus {
    Draft,
    Active,
    Suspended,
    Ended,
}

/// Response and resolution targets for one priority, in business minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    #[schema(minimum = 1, maximum = 525600)]
    pub response_minutes: u32,
    /// Not less than `response_minutes`.
    #[schema(minimum = 1, maximum = 525600)]
    pub resolution_minutes: u32,
}

/// The longest SLA target: a year of minutes.
pub const SLA_MINUTES_MAX: u32 = 525_600;
/// At most this many working windows in a week.
pub const WINDOWS_MAX: usize = 50;

/// SLA terms per ticket priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTerms {
    pub low: SlaTarget,
    pub medium: SlaTarget,
    pub high: SlaTarget,
    pub critical: SlaTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// One working window on a weekday, local time `HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessWindow {
    pub day: Weekday,
    #[schema(example = "08:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub start: String,
    /// After `start`.
    #[schema(example = "17:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub end: String,
}

/// The calendar SLA clocks run on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// IANA time zone (`Europe/Berlin`).
    #[schema(value_type = TimeZone)]
    pub time_zone: String,
    #[schema(min_items = 1, max_items = 50)]
    pub windows: Vec<BusinessWindow>,
}

/// An agreement with a customer: what is billed and what is promised.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Contract {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub contract_type: ContractType,
    pub status: ContractStatus,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub currency: String,
    #[serde(with = "psa_http::decimal::opt_string")]
    #[schema(value_type = Option<String>, example = "95.00")]
    pub hourly_rate: Option<Decimal>,
    #[serde(with = "psa_http::decimal::opt_string")]
    #[schema(value_type = Option<String>, example = "1500.00")]
    pub monthly_fee: Option<Decimal>,
    #[serde(with = "psa_http::decimal::opt_string")]
    #[schema(value_type = Option<String>, example = "20.00")]
    pub included_hours: Option<Decimal>,
    #[schema(value_type = Option<SlaTerms>)]
    pub sla: Option<Json<SlaTerms>>,
    #[schema(value_type = Option<BusinessHours>)]
    pub business_hours: Option<Json<BusinessHours>>,
    /// Each time entry is rounded up to this many minutes before pricing.
    // The defaults read events published before these fields existed.
    #[serde(default = "quarter_hour")]
    #[schema(required = true)]
    pub billing_increment_minutes: i32,
    /// The day of the month on which the contract's billing period starts.
    #[serde(default = "first")]
    #[schema(required = true)]
    pub billing_day: i32,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractInput {
    pub customer_id: Uuid,
    #[schema(schema_with = formats::line::<200>)]
    pub name: String,
    #[serde(rename = "type")]
    pub contract_type: ContractType,
    #[serde(default = "draft")]
    pub status: ContractStatus,
    pub start_date: NaiveDate,
    /// Not before `start_date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    /// ISO 4217 code, upper case.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// `numeric(14, 2)`; needed by a `time_and_materials` contract.
    #[serde(
        default,
        with = "psa_http::decimal::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = formats::opt_decimal::<12, 2>)]
    pub hourly_rate: Option<Decimal>,
    /// `numeric(14, 2)`; needed by a `managed_services` contract.
    #[serde(
        default,
        with = "psa_http::decimal::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = formats::opt_decimal::<12, 2>)]
    pub monthly_fee: Option<Decimal>,
    /// `numeric(10, 2)`; needed by a `block_hours` contract.
    #[serde(
        default,
        with = "psa_http::decimal::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = formats::opt_decimal::<8, 2>)]
    pub included_hours: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaTerms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    /// Each time entry is rounded up to this many minutes before pricing;
    /// 15 when absent.
    #[serde(default = "quarter_hour")]
    #[schema(minimum = 1, maximum = 60)]
    pub billing_increment_minutes: i32,
    /// The day of the month (1 to 28, so that every month has it) on which
    /// the billing period starts; 1 when absent.
    #[serde(default = "first")]
    #[schema(minimum = 1, maximum = 28)]
    pub billing_day: i32,
}

/// The largest billing increment: an hour.
pub const BILLING_INCREMENT_MAX: i32 = 60;
/// The last day of the month a billing period may start on (every month has it).
pub const BILLING_DAY_MAX: i32 = 28;

fn quarter_hour() -> i32 {
    15
}

fn first() -> i32 {
    1
}

fn draft() -> ContractStatus {
    ContractStatus::Draft
}

fn parse_hm(s: &str) -> Option<NaiveTime> {
    if s.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

impl ContractInput {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut e = FieldErrors::default();
        e.text("name", &self.name, 200);
        if let Some(end) = self.end_date
            && end < self.start_date
        {
            e.add_code("end_date", INCONSISTENT, "must not be before start_date");
        }
        if !(self.currency.len() == 3 && self.currency.chars().all(|c| c.is_ascii_uppercase())) {
            e.add("currency", "must be an ISO 4217 code such as EUR");
        }
        // The columns' sizes: numeric(14, 2), numeric(14, 2), numeric(10, 2).
        e.decimal("hourly_rate", self.hourly_rate, 12, 2);
        e.decimal("monthly_fee", self.monthly_fee, 12, 2);
        e.decimal("included_hours", self.included_hours, 8, 2);
        if !(1..=BILLING_INCREMENT_MAX).contains(&self.billing_increment_minutes) {
            e.add(
                "billing_increment_minutes",
                format!("must be 1 to {BILLING_INCREMENT_MAX}"),
            );
        }
        if !(1..=BILLING_DAY_MAX).contains(&self.billing_day) {
            e.add("billing_day", format!("must be 1 to {BILLING_DAY_MAX}"));
        }
        match self.contract_type {
            ContractType::BlockHours if self.included_hours.is_none() => {
                e.add_code(
                    "included_hours",
                    INCONSISTENT,
                    "a block_hours contract needs included_hours",
                );
            }
            ContractType::TimeAndMaterials if self.hourly_rate.is_none() => {
                e.add_code(
                    "hourly_rate",
                    INCONSISTENT,
                    "a time_and_materials contract needs an hourly_rate",
                );
            }
            ContractType::ManagedServices if self.monthly_fee.is_none() => {
                e.add_code(
                    "monthly_fee",
                    INCONSISTENT,
                    "a managed_services contract needs a monthly_fee",
                );
            }
            _ => {}
        }
        if let Some(sla) = &self.sla {
            for (name, t) in [
                ("low", sla.low),
                ("medium", sla.medium),
                ("high", sla.high),
                ("critical", sla.critical),
            ] {
                if !(1..=SLA_MINUTES_MAX).contains(&t.response_minutes) {
                    e.add(
                        &format!("sla.{name}.response_minutes"),
                        format!("must be 1 to {SLA_MINUTES_MAX}"),
                    );
                }
                if t.resolution_minutes > SLA_MINUTES_MAX {
                    e.add(
                        &format!("sla.{name}.resolution_minutes"),
                        format!("must be at most {SLA_MINUTES_MAX}"),
                    );
                }
                if t.resolution_minutes < t.response_minutes {
                    e.add_code(
                        &format!("sla.{name}.resolution_minutes"),
                        INCONSISTENT,
                        "must not be less than response_minutes",
                    );
                }
            }
        }
        if let Some(bh) = &self.business_hours {
            if !valid_time_zone(&bh.time_zone) {
                e.add(
                    "business_hours.time_zone",
                    "must be an IANA time zone such as Europe/Berlin",
                );
            }
            if bh.windows.is_empty() || bh.windows.len() > WINDOWS_MAX {
                e.add(
                    "business_hours.windows",
                    format!("must list 1 to {WINDOWS_MAX} windows"),
                );
            }
            for (i, w) in bh.windows.iter().enumerate() {
                match (parse_hm(&w.start), parse_hm(&w.end)) {
                    (Some(s), Some(en)) if s < en => {}
                    (Some(_), Some(_)) => e.add_code(
                        &format!("business_hours.windows[{i}].end"),
                        INCONSISTENT,
                        "must be after start",
                    ),
                    _ => e.add(
                        &format!("business_hours.windows[{i}]"),
                        "start and end are HH:MM",
                    ),
                }
            }
        }
        e.finish()
    }
}

impl From<&Contract> for ContractInput {
    fn from(c: &Contract) -> Self {
        Self {
            customer_id: c.customer_id,
            name: c.name.clone(),
            contract_type: c.contract_type,
            status: c.status,
            start_date: c.start_date,
            end_date: c.end_date,
            currency: c.currency.clone(),
            hourly_rate: c.hourly_rate,
            monthly_fee: c.monthly_fee,
            included_hours: c.included_hours,
            sla: c.sla.as_ref().map(|s| s.0),
            business_hours: c.business_hours.as_ref().map(|b| b.0.clone()),
            billing_increment_minutes: c.billing_increment_minutes,
            billing_day: c.billing_day,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> ContractInput {
        serde_json::from_value(v).unwrap()
    }

    fn base() -> serde_json::Value {
        json!({"customer_id": Uuid::now_v7(), "name": "MSA", "type": "managed_services",
               "start_date": "2026-01-01", "currency": "EUR", "monthly_fee": "1500.00"})
    }

    #[test]
    fn valid_contract() {
        assert!(input(base()).validate().is_ok());
    }

    #[test]
    fn dates_currency_and_type_rules() {
        let mut v = base();
        v["end_date"] = json!("2025-12-31");
        v["currency"] = json!("eur");
        v["type"] = json!("block_hours");
        let fields: Vec<String> = input(v)
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["end_date", "currency", "included_hours"]);
    }

    #[test]
    fn billing_terms_default_and_bounds() {
        let c = input(base());
        assert_eq!((c.billing_increment_minutes, c.billing_day), (15, 1));
        for (increment, day, bad) in [
            (0, 1, vec!["billing_increment_minutes"]),
            (61, 29, vec!["billing_increment_minutes", "billing_day"]),
            (60, 0, vec!["billing_day"]),
        ] {
            let mut v = base();
            v["billing_increment_minutes"] = json!(increment);
            v["billing_day"] = json!(day);
            let fields: Vec<String> = input(v)
                .validate()
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect();
            assert_eq!(fields, bad);
        }
        let mut v = base();
        v["billing_increment_minutes"] = json!(1);
        v["billing_day"] = json!(28);
        assert!(input(v).validate().is_ok());
    }

    #[test]
    fn sla_and_business_hours_rules() {
        let mut v = base();
        let t = json!({"response_minutes": 60, "resolution_minutes": 30});
        let ok = json!({"response_minutes": 15, "resolution_minutes": 240});
        v["sla"] = json!({"low": ok, "medium": ok, "high": ok, "critical": t});
        v["business_hours"] = json!({"time_zone": "Mars/Olympus", "windows": [{"day": "mon", "start": "17:00", "end": "08:00"}]});
        let fields: Vec<String> = input(v)
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "sla.critical.resolution_minutes",
                "business_hours.time_zone",
                "business_hours.windows[0].end"
            ]
        );
    }
}
