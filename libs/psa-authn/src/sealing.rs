//! Secret material at rest: the deployment's master key, which seals (AES-256-GCM)
//! what must be stored but never shown in the clear (signing keys, TOTP
//! secrets, license keys, stored responses that show a secret) and derives
//! a key of its own for each such use.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .unwrap_or_else(|_| unreachable!("the system RNG is available"));
    buf
}

/// AES-256-GCM with a random nonce per message; the nonce is stored in front.
/// Also keys an HMAC (derived from it, never the same key for two uses) for
/// fingerprints that must not be guessable offline.
pub struct MasterKey {
    key: LessSafeKey,
    mac: hmac::Key,
    /// Derives keys for other uses ([`MasterKey::derive`]).
    kdf: hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("auth_server.master_key must be 32 bytes in base64")]
    Malformed,
    #[error("auth_server.master_key_file {0}: {1}")]
    File(String, std::io::Error),
    #[error("no master key: set auth_server.master_key or auth_server.master_key_file")]
    Missing,
    #[error("decryption failed: wrong master key or corrupted data")]
    Decrypt,
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MasterKeyError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| MasterKeyError::Malformed)?;
        let derive = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let mac_key = hmac::sign(&derive, b"psa-auth: fingerprint key");
        Ok(Self {
            key: LessSafeKey::new(key),
            mac: hmac::Key::new(hmac::HMAC_SHA256, mac_key.as_ref()),
            kdf: derive,
        })
    }

    /// A key of its own for `purpose` (`"assets: license keys"`), derived
    /// from this one: one master key per deployment, never the same key for
    /// two uses.
    pub fn derive(&self, purpose: &str) -> Self {
        let bytes = hmac::sign(&self.kdf, format!("psa key for {purpose}").as_bytes());
        Self::from_bytes(bytes.as_ref())
            .unwrap_or_else(|_| unreachable!("an HMAC-SHA256 is an AES-256 key"))
    }

    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| MasterKeyError::Malformed)?;
        if bytes.len() != 32 {
            return Err(MasterKeyError::Malformed);
        }
        Self::from_bytes(&bytes)
    }

    pub fn generate() -> Self {
        Self::from_bytes(&random_bytes::<32>())
            .unwrap_or_else(|_| unreachable!("32 bytes is an AES-256 key"))
    }

    /// From configuration: the inline key, else the file (created when allowed).
    pub fn load(inline: &str, file: &Path, create: bool) -> Result<Self, MasterKeyError> {
        if !inline.is_empty() {
            return Self::from_base64(inline);
        }
        let err = |e| MasterKeyError::File(file.display().to_string(), e);
        match std::fs::read_to_string(file) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                let bytes = random_bytes::<32>();
                crate::keys::write_private(file, STANDARD.encode(bytes).as_bytes()).map_err(err)?;
                Self::from_bytes(&bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(MasterKeyError::Missing),
            Err(e) => Err(err(e)),
        }
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::empty(),
                &mut out,
            )
            .unwrap_or_else(|_| unreachable!("sealing a bounded message succeeds"));
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend(out);
        sealed
    }

    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(MasterKeyError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Decrypt)?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .map_err(|_| MasterKeyError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

/// Auth's idempotency records are sealed with the master key: its responses
/// show client secrets, API keys and recovery codes once, and its requests
/// carry passwords.
impl psa_http::idempotency::Sealer for MasterKey {
    fn seal(&self, plain: &[u8]) -> Vec<u8> {
        self.encrypt(plain)
    }

    fn unseal(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        self.decrypt(sealed).ok()
    }

    fn keyed_digest(&self, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.mac, data).as_ref().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_key_seals_and_detects_tampering() {
        let k = MasterKey::generate();
        let sealed = k.encrypt(b"private key");
        assert_eq!(k.decrypt(&sealed).unwrap(), b"private key");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(k.decrypt(&bad).is_err());
        assert!(
            MasterKey::generate().decrypt(&sealed).is_err(),
            "another key cannot open it"
        );
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn fingerprints_are_keyed() {
        use psa_http::idempotency::Sealer;
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        assert_eq!(a.keyed_digest(b"x"), a.keyed_digest(b"x"));
        assert_ne!(a.keyed_digest(b"x"), b.keyed_digest(b"x"));
        assert_ne!(a.keyed_digest(b"x"), a.keyed_digest(b"y"));
    }

    #[test]
    fn derived_keys_are_apart() {
        let k = MasterKey::generate();
        let a = k.derive("a");
        let sealed = a.encrypt(b"x");
        assert_eq!(
            k.derive("a").decrypt(&sealed).unwrap(),
            b"x",
            "derivation is stable"
        );
        assert!(k.derive("b").decrypt(&sealed).is_err());
        assert!(k.decrypt(&sealed).is_err());
    }
}
