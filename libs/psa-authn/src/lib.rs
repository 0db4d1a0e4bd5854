//! Verification of bearer tokens, as API.md specifies: JWTs from configured
//! OIDC issuers (JWKS from discovery, a URL or a file; cached, refetched on an
//! unknown `kid` at most once per cooldown; fail closed), an asymmetric
//! algorithm allow-list, exact `iss`, `aud`, numeric `exp`/`nbf`, `typ`
//! `at+jwt` unless the issuer allows plain `JWT`. Gives handlers a [`Caller`].

mod caller;
mod config;
pub mod keys;
pub mod permissions;
pub mod sealing;
mod verifier;

pub use caller::{Caller, HasVerifier, Verified};
pub use config::{AuthConfig, DevKeyConfig, IssuerConfig};
pub use verifier::{AuthError, Verifier};
