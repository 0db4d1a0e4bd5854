//! The second factor: TOTP enrolment (secret shown once, confirmed with a
//! current code) and single-use recovery codes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::secrets::random_bytes;

pub const RECOVERY_CODES: usize = 10;

/// A fresh 160-bit TOTP secret (RFC 4226's recommended length).
pub fn new_totp_secret() -> Vec<u8> {
    random_bytes::<20>().to_vec()
}

/// `xxxxx-xxxxx` codes of lower-case base32 (35 random bits each).
pub fn recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let b = data_encoding::BASE32_NOPAD
                .encode(&random_bytes::<7>())
                .to_lowercase();
            format!("{}-{}", &b[..5], &b[5..10])
        })
        .collect()
}

/// Whether `code` has the shape of a recovery code (after trimming and
/// lower-casing), so other input costs no hash comparisons.
pub fn looks_like_recovery_code(code: &str) -> bool {
    code.len() == 11
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret, shown once.
    pub secret: String,
    pub otpauth_uri: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    /// The authenticator's current 6-digit code (422 when it is not).
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Single-use codes, shown once.
    pub recovery_codes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_shaped() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(codes.iter().all(|c| looks_like_recovery_code(c)));
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
    }
}
