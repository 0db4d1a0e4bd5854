//! The permission catalogue: every `resource:action` string of every module,
//! and the built-in roles. A new module adds its permissions here.

/// (permission, what it allows)
pub const CATALOGUE: &[(&str, &str)] = &[
    ("customers:read", "read customers, contacts and sites"),
    (
        "customers:write",
        "create, change and delete customers, contacts and sites",
    ),
    ("contracts:read", "read contracts"),
    ("contracts:write", "create, change and delete contracts"),
    ("tickets:read", "read tickets and their comments"),
    ("tickets:write", "open, change and comment on tickets"),
    ("time:write", "log time on tickets"),
    ("invoices:read", "read invoices and invoice runs"),
    ("invoices:write", "start invoice runs and edit drafts"),
    ("invoices:release", "release (number and lock) invoices"),
    ("assets:read", "read assets and licenses"),
    ("assets:write", "change assets and licenses"),
    (
        "webhooks:admin",
        "manage webhook subscriptions and dead letters",
    ),
    ("users:read", "read users"),
    (
        "users:write",
        "invite, change and suspend users; set passwords; reset MFA",
    ),
    ("roles:read", "read roles"),
    ("roles:write", "create, change and delete custom roles"),
    ("service_accounts:read", "read service accounts"),
    (
        "service_accounts:write",
        "create service accounts and rotate their secrets",
    ),
    ("api_keys:read", "read API keys"),
    ("api_keys:write", "create and revoke API keys"),
    ("audit:read", "read the tenant's audit events"),
    (
        "tenants:admin",
        "platform operators only: create, list and suspend tenants",
    ),
];

/// Permissions only the platform operator's tenant may hold.
pub const PLATFORM_ONLY: &[&str] = &["tenants:admin"];

pub fn is_known(permission: &str) -> bool {
    CATALOGUE.iter().any(|(p, _)| *p == permission)
}

const READS: &[&str] = &[
    "customers:read",
    "contracts:read",
    "tickets:read",
    "invoices:read",
    "assets:read",
];

/// The built-in roles every tenant has.
pub fn builtin_role(name: &str) -> Option<Vec<&'static str>> {
    let tenant_scoped = || {
        CATALOGUE
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| !PLATFORM_ONLY.contains(p))
    };
    let perms: Vec<&'static str> = match name {
        "admin" => tenant_scoped().collect(),
        "dispatcher" => [
            READS,
            &[
                "customers:write",
                "tickets:write",
                "time:write",
                "users:read",
            ],
        ]
        .concat(),
        "technician" => [READS, &["tickets:write", "time:write"]].concat(),
        "billing" => [
            READS,
            &[
                "contracts:write",
                "invoices:write",
                "invoices:release",
                "time:write",
            ],
        ]
        .concat(),
        "readonly" => READS.to_vec(),
        _ => return None,
    };
    Some(perms)
}

pub const BUILTIN_ROLES: &[&str] = &["admin", "dispatcher", "technician", "billing", "readonly"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_use_only_catalogued_tenant_permissions() {
        for role in BUILTIN_ROLES {
            for p in builtin_role(role).unwrap() {
                assert!(is_known(p), "{role}: {p}");
                assert!(!PLATFORM_ONLY.contains(&p), "{role} must not hold {p}");
            }
        }
        assert!(builtin_role("root").is_none());
        assert!(
            builtin_role("readonly")
                .unwrap()
                .iter()
                .all(|p| p.ends_with(":read"))
        );
    }
}
