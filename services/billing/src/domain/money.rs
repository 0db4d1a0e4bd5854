//! Money and VAT as EN 16931 counts them: amounts are decimals with at most
//! two places, rounded half away from zero (commercial rounding, what the
//! standard's `round(x * 100) div 100` does for positive amounts); VAT is
//! computed once per category and rate on the summed net amounts.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Rounds an amount to cents, half away from zero.
pub fn cents(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// VAT category (UNCL 5305) of a line.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    sqlx::Type,
)]
#[sqlx(type_name = "text")]
pub enum VatCategory {
    /// Standard rate (domestic 19 % or 7 %).
    S,
    /// Zero rated.
    Z,
    /// Exempt (e.g. §4 UStG); needs an exemption reason.
    E,
    /// Reverse charge: the buyer owes the VAT (services to an EU business).
    AE,
    /// Intra-community supply of goods.
    K,
    /// Export outside the EU.
    G,
    /// Not subject to VAT (services to a non-EU business).
    O,
}

impl VatCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::Z => "Z",
            Self::E => "E",
            Self::AE => "AE",
            Self::K => "K",
            Self::G => "G",
            Self::O => "O",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::S,
            Self::Z,
            Self::E,
            Self::AE,
            Self::K,
            Self::G,
            Self::O,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// Whether a rate above zero belongs to the category (only `S`).
    pub fn has_rate(self) -> bool {
        self == Self::S
    }

    /// Whether both parties' VAT ids must be on the invoice.
    pub fn needs_both_vat_ids(self) -> bool {
        matches!(self, Self::AE | Self::K)
    }

    /// The exemption reason the invoice states when the line gives none;
    /// `E` has none: the line must say which exemption applies.
    pub fn default_exemption_reason(self) -> Option<&'static str> {
        match self {
            Self::AE => Some("Reverse charge - Steuerschuldnerschaft des Leistungsempfängers"),
            Self::K => {
                Some("Intra-community supply - steuerfreie innergemeinschaftliche Lieferung")
            }
            Self::G => Some("Export outside the EU - steuerfreie Ausfuhrlieferung"),
            Self::O => Some("Not subject to VAT - nicht im Inland steuerbar"),
            Self::S | Self::Z | Self::E => None,
        }
    }
}

/// What a line contributes to the VAT breakdown.
pub struct Taxable<'a> {
    pub category: VatCategory,
    pub rate: Decimal,
    pub net: Decimal,
    pub exemption_reason: Option<&'a str>,
}

/// One group of the VAT breakdown (BG-23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VatGroup {
    pub category: VatCategory,
    /// Percent, e.g. `"19.00"`.
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "19.00")]
    pub rate: Decimal,
    /// Σ of the group's line net amounts.
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "1237.50")]
    pub base: Decimal,
    /// round(base × rate / 100), half away from zero, once per group.
    #[serde(serialize_with = "psa_http::decimal::two_places")]
    #[schema(value_type = String, example = "235.13")]
    pub tax: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_reason: Option<String>,
}

/// A document's totals (BT-106, 109, 110, 112) and its VAT breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
    pub groups: Vec<VatGroup>,
}

/// The exact sums of `lines`: the net total is the sum of the line amounts,
/// VAT is computed once per (category, rate) on the group's summed base.
pub fn totals<'a>(lines: impl IntoIterator<Item = Taxable<'a>>) -> Totals {
    let mut groups: BTreeMap<(VatCategory, Decimal), VatGroup> = BTreeMap::new();
    for l in lines {
        let g = groups
            .entry((l.category, l.rate.normalize()))
            .or_insert_with(|| VatGroup {
                category: l.category,
                rate: l.rate.round_dp(2),
                base: Decimal::ZERO,
                tax: Decimal::ZERO,
                exemption_reason: None,
            });
        g.base += l.net;
        if g.exemption_reason.is_none() {
            g.exemption_reason = l
                .exemption_reason
                .map(str::to_owned)
                .or_else(|| l.category.default_exemption_reason().map(str::to_owned));
        }
    }
    let mut groups: Vec<VatGroup> = groups.into_values().collect();
    for g in &mut groups {
        g.base = cents(g.base);
        g.tax = cents(g.base * g.rate / Decimal::ONE_HUNDRED);
        g.rate = g.rate.round_dp(2);
        g.rate.rescale(2);
    }
    let net = groups.iter().map(|g| g.base).sum::<Decimal>();
    let tax = groups.iter().map(|g| g.tax).sum::<Decimal>();
    Totals {
        net,
        tax,
        gross: net + tax,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn line(category: VatCategory, rate: &str, net: &str) -> Taxable<'static> {
        Taxable {
            category,
            rate: d(rate),
            net: d(net),
            exemption_reason: None,
        }
    }

    #[test]
    fn cents_round_half_away_from_zero() {
        assert_eq!(cents(d("0.005")), d("0.01"));
        assert_eq!(cents(d("0.004")), d("0.00"));
        assert_eq!(cents(d("2.675")), d("2.68"));
        assert_eq!(cents(d("-0.005")), d("-0.01"));
    }

    #[test]
    fn vat_is_computed_once_per_group_on_the_summed_base() {
        // 19 % of each 0.03 line is 0.0057, rounded 0.01: 0.03 for three
        // lines; once on their sum 0.09 it is 0.0171, rounded 0.02. The
        // group must say 0.02.
        let t = totals([
            line(VatCategory::S, "19", "0.03"),
            line(VatCategory::S, "19.00", "0.03"),
            line(VatCategory::S, "19", "0.03"),
        ]);
        assert_eq!(t.groups.len(), 1, "19 and 19.00 are one rate");
        assert_eq!(t.groups[0].base, d("0.09"));
        assert_eq!(t.groups[0].tax, d("0.02"));
        assert_eq!(t.groups[0].rate.to_string(), "19.00");
    }

    #[test]
    fn two_rates_are_two_groups_and_the_totals_are_their_sums() {
        let t = totals([
            line(VatCategory::S, "19", "1000.00"),
            line(VatCategory::S, "7", "237.50"),
            line(VatCategory::S, "19", "237.50"),
        ]);
        assert_eq!(t.groups.len(), 2);
        let g7 = t.groups.iter().find(|g| g.rate == d("7")).unwrap();
        let g19 = t.groups.iter().find(|g| g.rate == d("19")).unwrap();
        assert_eq!((g7.base, g7.tax), (d("237.50"), d("16.63")));
        assert_eq!((g19.base, g19.tax), (d("1237.50"), d("235.13")));
        assert_eq!(t.net, d("1475.00"));
        assert_eq!(t.tax, d("251.76"));
        assert_eq!(t.gross, d("1726.76"));
    }

    #[test]
    fn reverse_charge_is_zero_with_its_reason() {
        let t = totals([line(VatCategory::AE, "0", "500.00")]);
        assert_eq!(t.tax, Decimal::ZERO);
        assert!(
            t.groups[0]
                .exemption_reason
                .as_deref()
                .unwrap()
                .starts_with("Reverse charge")
        );
    }
}
