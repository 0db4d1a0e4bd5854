//! Which account a booking goes to: the revenue account of a VAT group,
//! by purpose key (`revenue_19`, …), the tenant's setting first, else the
//! DATEV standard chart's automatic account; and the checks on the
//! customer's debtor account.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::DatevError;
use crate::domain::money::VatCategory;
use crate::domain::settings::ChartOfAccounts;

/// The purpose key of a VAT group's revenue account. `domestic` says,
/// for reverse charge only, whether buyer and seller are in one country
/// (§13b UStG at home) rather than in two EU states.
pub fn revenue_key(
    category: VatCategory,
    rate: Decimal,
    domestic: impl FnOnce() -> Result<bool, DatevError>,
) -> Result<String, DatevError> {
    Ok(match category {
        VatCategory::S if rate == Decimal::from(19) => "revenue_19".into(),
        VatCategory::S if rate == Decimal::from(7) => "revenue_7".into(),
        // Keys are a-z, 0-9 and _ (the settings check): 5.5 % is `revenue_s_5_5`.
        VatCategory::S => format!(
            "revenue_s_{}",
            rate.normalize().to_string().replace('.', "_")
        ),
        VatCategory::AE if domestic()? => "revenue_reverse_charge_domestic".into(),
        VatCategory::AE => "revenue_eu_reverse_charge".into(),
        VatCategory::O => "revenue_not_taxable".into(),
        VatCategory::K => "revenue_intra_eu_supply".into(),
        VatCategory::G => "revenue_export".into(),
        VatCategory::E => "revenue_exempt".into(),
        VatCategory::Z => "revenue_zero_rated".into(),
    })
}

/// The standard chart's account for a purpose, four digits: the automatic
/// (AM) revenue accounts of SKR03 / SKR04 where there is one. Tax advisors
/// often differ; the tenant's `accounts` override each.
pub fn default_account(key: &str, chart: ChartOfAccounts) -> Option<&'static str> {
    let (skr03, skr04) = match key {
        "revenue_19" => ("8400", "4400"),
        "revenue_7" => ("8300", "4300"),
        "revenue_eu_reverse_charge" => ("8336", "4336"),
        "revenue_reverse_charge_domestic" => ("8337", "4337"),
        "revenue_not_taxable" => ("8338", "4338"),
        "revenue_intra_eu_supply" => ("8125", "4125"),
        "revenue_export" => ("8120", "4120"),
        "revenue_exempt" => ("8100", "4100"),
        _ => return None,
    };
    Some(match chart {
        ChartOfAccounts::Skr03 => skr03,
        ChartOfAccounts::Skr04 => skr04,
    })
}

/// The general ledger account for `key`, `length` digits. A tenant's
/// account must have exactly that many; a standard account is widened
/// the way DATEV widens a client's accounts, with zeros on the right
/// (8400 at length 5 is 84000).
pub fn resolve(
    key: &str,
    accounts: &BTreeMap<String, String>,
    chart: ChartOfAccounts,
    length: u32,
) -> Result<String, DatevError> {
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    if let Some(value) = accounts.get(key) {
        if value.len() != length || !all_digits(value) || value.bytes().all(|b| b == b'0') {
            return Err(DatevError::BadAccount {
                key: key.to_owned(),
                value: value.clone(),
                length,
            });
        }
        return Ok(value.clone());
    }
    let standard = default_account(key, chart).ok_or_else(|| DatevError::NoAccount {
        key: key.to_owned(),
    })?;
    Ok(format!("{standard:0<length$}"))
}

/// A debtor account has one digit more than the general ledger accounts
/// and lies in DATEV's debtor range (first digit 1 to 6; 7 to 9 are
/// creditors).
pub fn check_debtor(account: &str, length: u32, customer: &str) -> Result<(), DatevError> {
    let want = usize::try_from(length)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let in_range = matches!(account.as_bytes().first(), Some(b'1'..=b'6'));
    if account.len() != want || !all_digits(account) || !in_range {
        return Err(DatevError::BadDebtorAccount {
            customer: customer.to_owned(),
            account: account.to_owned(),
            length: want,
        });
    }
    Ok(())
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}
