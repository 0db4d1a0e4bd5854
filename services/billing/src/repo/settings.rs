//! The seller's settings: one row per tenant, defaults until written.

use std::collections::BTreeMap;

use psa_crm::domain::validate::Address;
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::domain::settings::{ChartOfAccounts, Settings, SettingsInput};

/// The tenant's settings, or the defaults (`version` 0); `lock` holds the
/// row until the transaction ends.
pub async fn fetch(conn: &mut PgConnection, lock: bool) -> Result<Settings, sqlx::Error> {
    let row = if lock {
        sqlx::query_as!(
            Settings,
            r#"select legal_name, address as "address: Json<Address>", vat_id, tax_number, iban, bic,
                 bank_name, contact_name, contact_phone, contact_email, electronic_address,
                 default_payment_terms_days, invoice_number_format, credit_note_number_format,
                 default_vat_rate, chart_of_accounts as "chart_of_accounts: ChartOfAccounts",
                 accounts as "accounts: Json<BTreeMap<String, String>>", datev_consultant_number,
                 datev_client_number, fiscal_year_start_month, account_length, version,
                 updated_at as "updated_at?"
               from billing.settings for update"#
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            Settings,
            r#"select legal_name, address as "address: Json<Address>", vat_id, tax_number, iban, bic,
                 bank_name, contact_name, contact_phone, contact_email, electronic_address,
                 default_payment_terms_days, invoice_number_format, credit_note_number_format,
                 default_vat_rate, chart_of_accounts as "chart_of_accounts: ChartOfAccounts",
                 accounts as "accounts: Json<BTreeMap<String, String>>", datev_consultant_number,
                 datev_client_number, fiscal_year_start_month, account_length, version,
                 updated_at as "updated_at?"
               from billing.settings"#
        )
        .fetch_optional(conn)
        .await?
    };
    Ok(row.unwrap_or_else(Settings::defaults))
}

/// Writes the settings as their next version.
pub async fn write(conn: &mut PgConnection, s: &SettingsInput) -> Result<Settings, sqlx::Error> {
    sqlx::query_as!(
        Settings,
        r#"insert into billing.settings (legal_name, address, vat_id, tax_number, iban, bic, bank_name,
             contact_name, contact_phone, contact_email, electronic_address, default_payment_terms_days,
             invoice_number_format, credit_note_number_format, default_vat_rate, chart_of_accounts,
             accounts, datev_consultant_number, datev_client_number, fiscal_year_start_month,
             account_length)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
             $20, $21)
           on conflict (tenant_id) do update set legal_name = excluded.legal_name,
             address = excluded.address, vat_id = excluded.vat_id, tax_number = excluded.tax_number,
             iban = excluded.iban, bic = excluded.bic, bank_name = excluded.bank_name,
             contact_name = excluded.contact_name, contact_phone = excluded.contact_phone,
             contact_email = excluded.contact_email, electronic_address = excluded.electronic_address,
             default_payment_terms_days = excluded.default_payment_terms_days,
             invoice_number_format = excluded.invoice_number_format,
             credit_note_number_format = excluded.credit_note_number_format,
             default_vat_rate = excluded.default_vat_rate, chart_of_accounts = excluded.chart_of_accounts,
             accounts = excluded.accounts, datev_consultant_number = excluded.datev_consultant_number,
             datev_client_number = excluded.datev_client_number,
             fiscal_year_start_month = excluded.fiscal_year_start_month,
             account_length = excluded.account_length, version = billing.settings.version + 1, updated_at = now()
           returning legal_name, address as "address: Json<Address>", vat_id, tax_number, iban, bic,
             bank_name, contact_name, contact_phone, contact_email, electronic_address,
             default_payment_terms_days, invoice_number_format, credit_note_number_format,
             default_vat_rate, chart_of_accounts as "chart_of_accounts: ChartOfAccounts",
             accounts as "accounts: Json<BTreeMap<String, String>>", datev_consultant_number,
                 datev_client_number, fiscal_year_start_month, account_length, version,
             updated_at as "updated_at?""#,
        s.legal_name,
        s.address.clone().map(Json) as _,
        s.vat_id,
        s.tax_number,
        s.iban,
        s.bic,
        s.bank_name,
        s.contact_name,
        s.contact_phone,
        s.contact_email,
        s.electronic_address,
        s.default_payment_terms_days,
        s.invoice_number_format,
        s.credit_note_number_format,
        s.default_vat_rate,
        s.chart_of_accounts as _,
        Json(&s.accounts) as _,
        s.datev_consultant_number,
        s.datev_client_number,
        s.fiscal_year_start_month,
        s.account_length,
    )
    .fetch_one(conn)
    .await
}
