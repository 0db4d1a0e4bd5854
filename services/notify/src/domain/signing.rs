//! Standard Webhooks signatures (standardwebhooks.com): the secret is
//! `whsec_` + base64 of random bytes; a signature is `v1,` + base64 of
//! HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed with the decoded bytes.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the contract asks for 24 or more).
pub const SECRET_BYTES: usize = 32;

/// A new signing key and the secret as the receiver configures it.
pub fn new_secret() -> (Vec<u8>, String) {
    let key = psa_authn::sealing::random_bytes::<SECRET_BYTES>().to_vec();
    let text = format!("{SECRET_PREFIX}{}", STANDARD.encode(&key));
    (key, text)
}

/// The base64 signature of one message under one key.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body.as_bytes());
    STANDARD.encode(ctx.sign().as_ref())
}

/// The `webhook-signature` header: one `v1,` entry per key, space-separated
/// (during a rotation, the new key's and the old key's).
pub fn signature_header(keys: &[&[u8]], id: &str, timestamp: i64, body: &str) -> String {
    keys.iter()
        .map(|k| format!("v1,{}", sign(k, id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signs_the_specification_s_example() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature_header(
                &[&key],
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_new_secret_decodes_to_its_key() {
        let (key, text) = new_secret();
        assert_eq!(key.len(), SECRET_BYTES);
        let decoded = STANDARD
            .decode(text.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(decoded, key);
        assert_ne!(new_secret().0, key);
    }

    #[test]
    fn rotation_signs_with_both_keys() {
        let header = signature_header(&[b"new", b"old"], "e", 1, "{}");
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], format!("v1,{}", sign(b"new", "e", 1, "{}")));
        assert_eq!(entries[1], format!("v1,{}", sign(b"old", "e", 1, "{}")));
        assert_ne!(entries[0], entries[1]);
    }
}
