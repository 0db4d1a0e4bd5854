//! Permissions are `resource:action` strings. Each module declares its own
//! (with what they allow) on its `Module`; the platform's registry of
//! modules is the permission catalogue. Here: the type, the permissions only
//! the platform operator may hold, and the built-in roles every tenant has.

/// A permission as a module declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// `resource:action`, as tokens carry it.
    pub name: &'static str,
    /// What it allows, for people who hand it out.
    pub description: &'static str,
}

impl Permission {
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Self { name, description }
    }

    /// `resource:action` with lower-case ASCII letters and `_` on both sides.
    pub fn is_well_formed(name: &str) -> bool {
        let part =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        name.split_once(':')
            .is_some_and(|(resource, action)| part(resource) && part(action))
    }
}

/// The tenant's audit trail: auth's audit events and the gateway's log of
/// writes. Declared here, once, because both modules serve a part of it.
pub const AUDIT_READ: Permission = Permission::new(
    "audit:read",
    "read the tenant's audit trail (audit events and the log of writes)",
);

/// Permissions only the platform operator's tenant may hold.
pub const PLATFORM_ONLY: &[&str] = &["tenants:admin"];

pub const BUILTIN_ROLES: &[&str] = &["admin", "dispatcher", "technician", "billing", "readonly"];

const READS: &[&str] = &["customers:read", "contracts:read", "tickets:read"];

/// The permissions of a built-in role, given the platform's catalogue (every
/// registered permission name): `admin` holds every one a tenant may hold;
/// the others hold fixed sets, each of which must be registered (the
/// platform's tests check it).
pub fn builtin_role<'a>(name: &str, catalogue: &[&'a str]) -> Option<Vec<&'a str>> {
    let perms: Vec<&'a str> = match name {
        "admin" => catalogue
            .iter()
            .copied()
            .filter(|p| !PLATFORM_ONLY.contains(p))
            .collect(),
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
                "time:write",
                "time:approve",
                "invoices:read",
                "invoices:write",
                "invoices:release",
            ],
        ]
        .concat(),
        "readonly" => READS.to_vec(),
        _ => return None,
    };
    Some(perms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_holds_the_catalogue_but_not_the_platform_s_permissions() {
        let catalogue = ["customers:read", "tenants:admin", "widgets:read"];
        assert_eq!(
            builtin_role("admin", &catalogue).unwrap(),
            ["customers:read", "widgets:read"]
        );
        for role in BUILTIN_ROLES {
            for p in builtin_role(role, &catalogue).unwrap() {
                assert!(!PLATFORM_ONLY.contains(&p), "{role} must not hold {p}");
                assert!(Permission::is_well_formed(p), "{role}: {p}");
            }
        }
        assert!(builtin_role("root", &catalogue).is_none());
        assert!(
            builtin_role("readonly", &catalogue)
                .unwrap()
                .iter()
                .all(|p| p.ends_with(":read"))
        );
    }

    #[test]
    fn permission_names_are_resource_colon_action() {
        for ok in ["customers:read", "service_accounts:write"] {
            assert!(Permission::is_well_formed(ok), "{ok}");
        }
        for bad in [
            "customers",
            "customers:",
            ":read",
            "Customers:read",
            "a:b:c",
            "a b:c",
        ] {
            assert!(!Permission::is_well_formed(bad), "{bad}");
        }
    }
}
