//! Secret material and what is built from it: hashes and the master key,
//! token signing keys, access and refresh tokens, TOTP.

pub mod secrets;
pub mod signing;
pub mod tokens;
pub mod totp;
