//! Roles to permissions, and the rule that nobody hands out what they lack.
//! The permission catalogue is the platform's registry of modules: a grant
//! may name only what some module declares.

use std::collections::BTreeSet;

use psa_authn::Caller;
use psa_authn::permissions::{BUILTIN_ROLES, PLATFORM_ONLY};
use psa_http::FieldError;
use psa_runtime::Registry;
use sqlx::PgConnection;

use crate::error::AuthError;
use crate::repo;

/// The permissions a set of role names grants in the current tenant.
pub async fn of_roles(
    conn: &mut PgConnection,
    registry: &Registry,
    roles: &[String],
) -> Result<BTreeSet<String>, AuthError> {
    let mut perms = BTreeSet::new();
    let mut custom = Vec::new();
    for r in roles {
        match registry.builtin_role(r) {
            Some(p) => perms.extend(p.into_iter().map(str::to_owned)),
            None => custom.push(r.clone()),
        }
    }
    if !custom.is_empty() {
        let rows = repo::roles::permissions_of(conn, &custom).await?;
        perms.extend(rows.into_iter().flatten());
    }
    Ok(perms)
}

/// Role names must exist in the tenant (built-in or custom).
pub async fn check_roles_exist(conn: &mut PgConnection, roles: &[String]) -> Result<(), AuthError> {
    let custom: Vec<String> = roles
        .iter()
        .filter(|r| !BUILTIN_ROLES.contains(&r.as_str()))
        .cloned()
        .collect();
    let existing = repo::roles::existing(conn, &custom).await?;
    match custom.iter().find(|r| !existing.contains(r)) {
        Some(r) => Err(AuthError::Validation(vec![FieldError::with_code(
            "roles",
            "not_found",
            format!("no role named {r}"),
        )])),
        None => Ok(()),
    }
}

/// Permissions must be registered by a module, platform-only ones only in
/// the platform tenant, and the caller must hold every one it hands out.
pub fn check_grant(
    registry: &Registry,
    caller: &Caller,
    perms: &BTreeSet<String>,
    platform_tenant: bool,
    field: &str,
) -> Result<(), AuthError> {
    for p in perms {
        if registry.permission(p).is_none() {
            return Err(AuthError::invalid(
                field,
                &format!("unknown permission {p}"),
            ));
        }
        if PLATFORM_ONLY.contains(&p.as_str()) && !platform_tenant {
            return Err(AuthError::Validation(vec![FieldError::with_code(
                field,
                "platform_only",
                format!("{p} is for the platform operator only"),
            )]));
        }
        if !caller.permissions.contains(p) {
            return Err(AuthError::Forbidden(format!(
                "you cannot grant {p}, which you do not hold"
            )));
        }
    }
    Ok(())
}
