//! TOTP (RFC 6238) over HMAC-SHA1 (RFC 4226), 30-second steps.

use aws_lc_rs::hmac;

pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;

/// The code for a time step.
pub fn code_at_step(secret: &[u8], step: i64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let h = tag.as_ref();
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    let modulo = 10u32.pow(digits);
    format!("{:0width$}", bin % modulo, width = digits as usize)
}

pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// Checks a 6-digit code within ±1 step of `now`, returning the step it
/// matched. Steps at or before `last_used` are refused, so a code works once.
pub fn verify(secret: &[u8], code: &str, now_unix: i64, last_used: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(now_unix);
    let mut matched = None;
    // Every candidate is computed and compared, so timing does not tell which matched.
    for step in [now - 1, now, now + 1] {
        let expected = code_at_step(secret, step, DIGITS);
        if super::secrets::constant_time_eq(expected.as_bytes(), code.as_bytes())
            && last_used.is_none_or(|l| step > l)
        {
            matched = Some(step);
        }
    }
    matched
}

/// `otpauth://` URI for authenticator apps.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let enc = |s: &str| form_urlencode(s);
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        data_encoding::BASE32_NOPAD.encode(secret),
        enc(issuer)
    )
}

fn form_urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits, secret "12345678901234567890").
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, want) in vectors {
            assert_eq!(code_at_step(secret, step_of(t), 8), want, "T={t}");
        }
    }

    #[test]
    fn window_and_single_use() {
        let secret = b"12345678901234567890";
        let now = 1_700_000_000;
        let code = code_at_step(secret, step_of(now), DIGITS);
        let step = verify(secret, &code, now, None).expect("current code");
        assert_eq!(
            verify(secret, &code, now, Some(step)),
            None,
            "a code works once"
        );
        let prev = code_at_step(secret, step_of(now) - 1, DIGITS);
        assert!(
            verify(secret, &prev, now, None).is_some(),
            "one step of drift"
        );
        let old = code_at_step(secret, step_of(now) - 2, DIGITS);
        assert!(
            verify(secret, &old, now, None).is_none(),
            "two steps is too old"
        );
        assert!(verify(secret, "12345", now, None).is_none());
        assert!(verify(secret, "abcdef", now, None).is_none());
    }

    #[test]
    fn otpauth_uri_shape() {
        let uri = otpauth_uri(b"12345678901234567890", "PSA", "dana@acme.example");
        assert!(uri.starts_with("otpauth://totp/PSA:dana@acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=PSA"), "{uri}");
    }
}
