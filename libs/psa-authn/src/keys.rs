//! Ed25519 signing keys: the auth module's token keys, and the local
//! development key (trusted only where the configuration turns it on).

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub struct SigningKey {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("dev key file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("dev key is not a valid PKCS#8 Ed25519 key")]
    Invalid,
    #[error("signing failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

impl SigningKey {
    pub fn generate() -> Self {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .unwrap_or_else(|_| unreachable!("the system RNG is available"));
        Self::from_pkcs8(doc.as_ref()).unwrap_or_else(|_| unreachable!("a fresh key parses"))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| KeyError::Invalid)?;
        let public = pair.public_key().as_ref().to_vec();
        let kid = Sha256::digest(&public)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            pkcs8: pkcs8.to_vec(),
            public,
            kid,
        })
    }

    /// Reads the key, creating it (mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => Self::from_pkcs8(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                write_private(path, &key.pkcs8).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key, PKCS#8 DER. Handle as a secret.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn jwks(&self) -> JwkSet {
        serde_json::from_value(json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(&self.public),
        }]}))
        .unwrap_or_else(|_| unreachable!("a well-formed JWK"))
    }

    /// Signs arbitrary claims with an arbitrary `typ` (tests forge with it).
    pub fn sign_raw(&self, typ: Option<&str>, claims: &Value) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = typ.map(str::to_owned);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_ed_der(&self.pkcs8),
        )?)
    }

    /// An RFC 9068 access token for a tenant with the given permissions.
    pub fn access_token(
        &self,
        issuer: &str,
        audience: &str,
        tenant_id: Uuid,
        subject: &str,
        permissions: &[&str],
        ttl_secs: i64,
    ) -> Result<String, KeyError> {
        let now = chrono::Utc::now().timestamp();
        self.sign_raw(
            Some("at+jwt"),
            &json!({
                "iss": issuer, "aud": audience, "sub": subject,
                "iat": now, "exp": now + ttl_secs, "jti": Uuid::now_v7().to_string(),
                "client_id": "psa-dev", "tenant_id": tenant_id.to_string(),
                "permissions": permissions,
            }),
        )
    }
}

/// Creates `path` (never overwriting) readable by its owner only: for key
/// material at rest.
#[cfg(unix)]
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
