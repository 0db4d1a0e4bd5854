//! The registry: every module of the platform as it declares itself. The
//! gateway's routing table, the permission catalogue, the event catalogue
//! (AsyncAPI), the merged OpenAPI document, `psa migrate` and `psa serve`
//! are all read from it, so adding a module touches no central table.

use std::collections::BTreeMap;

use anyhow::{bail, ensure};
use psa_authn::permissions::{self, Permission};
use psa_events::catalog::EventSpec;

use crate::module::Module;

/// Where a request path leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The declared prefix that matched (`/v1/customers`), a metrics label.
    pub prefix: &'static str,
    /// The module that serves it.
    pub module: &'static str,
    /// Reachable without a token (the OIDC endpoints).
    pub public: bool,
}

/// All modules of the platform, checked to fit together.
#[derive(Clone)]
pub struct Registry {
    modules: Vec<Module>,
}

impl Registry {
    /// Checks that names, route prefixes and event types are each owned by
    /// one module, and that a permission declared by several modules means
    /// the same in each.
    pub fn new(modules: impl IntoIterator<Item = Module>) -> anyhow::Result<Self> {
        let modules: Vec<Module> = modules.into_iter().collect();
        let mut names = BTreeMap::new();
        let mut prefixes = BTreeMap::new();
        let mut events = BTreeMap::new();
        let mut perms: BTreeMap<&str, (&str, &Permission)> = BTreeMap::new();
        for m in &modules {
            if let Some(other) = names.insert(m.name, m.db.schema) {
                bail!(
                    "two modules are named {} (schemas {other} and {})",
                    m.name,
                    m.db.schema
                );
            }
            for prefix in m.routes {
                ensure!(
                    prefix.starts_with('/') && !prefix.ends_with('/') && prefix.len() > 1,
                    "module {}: route prefix {prefix:?} must start with / and not end with one",
                    m.name
                );
                if let Some(other) = prefixes.insert(*prefix, m.name) {
                    bail!(
                        "route prefix {prefix} is claimed by modules {other} and {}",
                        m.name
                    );
                }
            }
            for public in m.public_routes {
                ensure!(
                    m.routes.contains(public),
                    "module {}: public route {public} is not one of its routes",
                    m.name
                );
            }
            for p in m.permissions {
                ensure!(
                    Permission::is_well_formed(p.name),
                    "module {}: permission {:?} is not resource:action",
                    m.name,
                    p.name
                );
                if let Some((other, earlier)) = perms.insert(p.name, (m.name, p)) {
                    ensure!(
                        earlier == p,
                        "permission {} is declared differently by modules {other} and {}",
                        p.name,
                        m.name
                    );
                }
            }
            for e in m.publishes {
                if let Some(other) = events.insert(e.name, m.name) {
                    bail!(
                        "event type {} is published by modules {other} and {}",
                        e.name,
                        m.name
                    );
                }
            }
        }
        Ok(Self { modules })
    }

    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name)
    }

    /// The named modules, in the order given; an unknown name is an error
    /// that lists the known ones.
    pub fn select(&self, names: &[&str]) -> anyhow::Result<Vec<Module>> {
        names
            .iter()
            .map(|n| {
                self.module(n).copied().ok_or_else(|| {
                    let known: Vec<&str> = self.modules.iter().map(|m| m.name).collect();
                    anyhow::anyhow!("unknown module {n}; known: {}", known.join(", "))
                })
            })
            .collect()
    }

    /// The module whose declared prefix matches `path` in whole segments
    /// (the longest such prefix).
    pub fn route(&self, path: &str) -> Option<Route> {
        self.modules
            .iter()
            .flat_map(|m| m.routes.iter().map(move |p| (m, *p)))
            .filter(|(_, prefix)| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|(_, prefix)| prefix.len())
            .map(|(m, prefix)| Route {
                prefix,
                module: m.name,
                public: m.public_routes.contains(&prefix),
            })
    }

    /// The permission catalogue: every declared permission once, in module order.
    pub fn permissions(&self) -> Vec<&'static Permission> {
        let mut seen = Vec::<&'static Permission>::new();
        for p in self.modules.iter().flat_map(|m| m.permissions.iter()) {
            if !seen.iter().any(|s| s.name == p.name) {
                seen.push(p);
            }
        }
        seen
    }

    pub fn permission(&self, name: &str) -> Option<&'static Permission> {
        self.modules
            .iter()
            .flat_map(|m| m.permissions.iter())
            .find(|p| p.name == name)
    }

    pub fn permission_names(&self) -> Vec<&'static str> {
        self.permissions().iter().map(|p| p.name).collect()
    }

    /// A built-in role's permissions within this platform (see
    /// [`permissions::builtin_role`]).
    pub fn builtin_role(&self, name: &str) -> Option<Vec<&'static str>> {
        permissions::builtin_role(name, &self.permission_names())
    }

    /// The event catalogue: every published type with its publisher.
    pub fn events(&self) -> impl Iterator<Item = (&Module, &'static EventSpec)> {
        self.modules
            .iter()
            .flat_map(|m| m.publishes.iter().map(move |e| (m, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::tests::module;

    #[test]
    fn routes_match_whole_segments_and_the_longest_prefix() {
        let mut a = module("a");
        a.routes = &["/v1/things", "/oauth"];
        a.public_routes = &["/oauth"];
        let mut b = module("b");
        b.routes = &["/v1/things/special"];
        let r = Registry::new([a, b]).unwrap();
        let at = |p: &str| r.route(p).map(|r| (r.prefix, r.module, r.public));
        assert_eq!(at("/v1/things"), Some(("/v1/things", "a", false)));
        assert_eq!(at("/v1/things/1/x"), Some(("/v1/things", "a", false)));
        assert_eq!(
            at("/v1/things/special/2"),
            Some(("/v1/things/special", "b", false))
        );
        assert_eq!(at("/v1/thingsX"), None);
        assert_eq!(at("/oauth/token"), Some(("/oauth", "a", true)));
        assert_eq!(at("/v1/nothing"), None);
    }

    #[test]
    fn conflicts_are_refused() {
        let mut a = module("a");
        a.routes = &["/v1/x"];
        let mut b = module("b");
        b.routes = &["/v1/x"];
        assert!(Registry::new([a, b]).is_err(), "one prefix, two modules");
        assert!(
            Registry::new([module("a"), module("a")]).is_err(),
            "one name twice"
        );

        const P1: Permission = Permission::new("x:read", "read x");
        const P2: Permission = Permission::new("x:read", "something else");
        let (mut a, mut b) = (module("a"), module("b"));
        a.permissions = &[P1];
        b.permissions = &[P1];
        let r = Registry::new([a, b]).unwrap();
        assert_eq!(
            r.permission_names(),
            ["x:read"],
            "the same permission twice is one"
        );
        b.permissions = &[P2];
        assert!(Registry::new([a, b]).is_err(), "one name, two meanings");

        const BAD: Permission = Permission::new("Bad", "bad");
        a.permissions = &[BAD];
        assert!(Registry::new([a]).is_err(), "not resource:action");

        let mut a = module("a");
        a.public_routes = &["/oauth"];
        assert!(Registry::new([a]).is_err(), "public but not routed");
    }
}
