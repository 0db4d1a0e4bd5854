//! Limits before execution, measured from the query's text.
//!
//! Every connection needs `first` or `last` (1 to 100). A query's cost is
//! the number of objects it could return: a connection costs its page size
//! times what one of its nodes costs (at least 1), any other object field 1
//! plus its own selection, a scalar nothing — so `customers(first: 50)`
//! with `tickets(first: 10)` and `assets(first: 10)` inside costs
//! 50 × (10 + 10) = 1000. Depth is the deepest nesting of fields. A query
//! deeper than [`MAX_DEPTH`] or costlier than [`MAX_COST`] is refused when
//! it is parsed ([`super::cost::Limits`]), so no resolver runs.
//! Introspection alone (`__schema`, `__type`) is bounded by the schema's
//! size: it is allowed deeper ([`INTROSPECTION_DEPTH`]) and costs 1.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError, Value, Variables};

use super::cost::refuse;
use super::page::MAX_PAGE;

pub const MAX_DEPTH: usize = 10;
pub const MAX_COST: u64 = 1000;
pub const INTROSPECTION_DEPTH: usize = 32;

/// The fields that are connections (and so need `first` or `last`); the
/// schema test keeps this list equal to the schema's.
pub const CONNECTIONS: &[&str] = &[
    "customers",
    "contacts",
    "sites",
    "contracts",
    "tickets",
    "comments",
    "timeEntries",
    "assets",
    "licenses",
    "invoices",
];

/// Fields that only wrap a connection's nodes: no cost of their own.
const WRAPPERS: &[&str] = &["edges", "node", "pageInfo"];

/// What a query asks for, measured from its text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    pub cost: u64,
    pub depth: usize,
    pub introspection: bool,
}

/// Measures the operation the request runs; `Ok(None)` when the document
/// does not name it (validation reports that).
pub fn measure(
    doc: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
) -> Result<Option<Measure>, ServerError> {
    let op = match (&doc.operations, operation) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return Ok(None),
        },
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().expect("one operation")
        }
        _ => return Ok(None),
    };
    let defaults: HashMap<Name, Value> = op
        .node
        .variable_definitions
        .iter()
        .filter_map(|d| {
            d.node
                .default_value
                .as_ref()
                .map(|v| (d.node.name.node.clone(), v.node.clone()))
        })
        .collect();
    let walk = Walk {
        fragments: &doc.fragments,
        variables,
        defaults: &defaults,
        measured: RefCell::new(HashMap::new()),
        open: RefCell::new(HashSet::new()),
        introspective: RefCell::new(HashMap::new()),
    };
    let (cost, depth) = walk.selections(&op.node.selection_set.node)?;
    let introspection = !op.node.selection_set.node.items.is_empty()
        && walk.only_introspection(&op.node.selection_set.node);
    Ok(Some(Measure {
        cost,
        depth,
        introspection,
    }))
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    defaults: &'a HashMap<Name, Value>,
    /// Each fragment's (cost, depth), measured once however often it is
    /// spread: a fragment spreading another twice, that one the next twice
    /// and so on would otherwise take exponential time to walk.
    measured: RefCell<HashMap<Name, (u64, usize)>>,
    /// The fragments being measured (a cycle is refused).
    open: RefCell<HashSet<Name>>,
    /// Whether each fragment asks for introspection alone.
    introspective: RefCell<HashMap<Name, bool>>,
}

impl Walk<'_> {
    /// Whether a selection asks for introspection fields alone (`__schema`,
    /// `__type`, `__typename`), fragments spread (each looked at once; call
    /// it after [`Walk::selections`], which refuses cycles).
    fn only_introspection(&self, set: &SelectionSet) -> bool {
        set.items.iter().all(|item| match &item.node {
            Selection::Field(f) => f.node.name.node.starts_with("__"),
            Selection::InlineFragment(i) => self.only_introspection(&i.node.selection_set.node),
            Selection::FragmentSpread(s) => {
                let name = &s.node.fragment_name.node;
                if let Some(known) = self.introspective.borrow().get(name) {
                    return *known;
                }
                let only = self
                    .fragments
                    .get(name)
                    .is_some_and(|d| self.only_introspection(&d.node.selection_set.node));
                self.introspective.borrow_mut().insert(name.clone(), only);
                only
            }
        })
    }

    /// (cost, depth) of a fragment's selection, measured once.
    fn spread(&self, name: &Name) -> Result<(u64, usize), ServerError> {
        if let Some(m) = self.measured.borrow().get(name) {
            return Ok(*m);
        }
        let Some(def) = self.fragments.get(name) else {
            // Validation reports an unknown fragment.
            return Ok((0, 0));
        };
        if !self.open.borrow_mut().insert(name.clone()) {
            return Err(refuse(
                format!("fragment {name} spreads itself"),
                "GRAPHQL_VALIDATION_FAILED",
            ));
        }
        let m = self.selections(&def.node.selection_set.node)?;
        self.open.borrow_mut().remove(name);
        self.measured.borrow_mut().insert(name.clone(), m);
        Ok(m)
    }

    /// A page size argument's value, variables resolved.
    fn int_arg(&self, field: &async_graphql::parser::types::Field, name: &str) -> Option<Value> {
        let (_, v) = field.arguments.iter().find(|(n, _)| n.node == name)?;
        v.node
            .clone()
            .into_const_with(|var| {
                self.variables
                    .get(&var)
                    .or_else(|| self.defaults.get(&var))
                    .cloned()
                    .ok_or(())
            })
            .ok()
            .filter(|v| *v != Value::Null)
    }

    /// (cost, depth) of a selection set.
    fn selections(&self, set: &SelectionSet) -> Result<(u64, usize), ServerError> {
        let (mut cost, mut depth) = (0u64, 0usize);
        for item in &set.items {
            let (c, d) = match &item.node {
                Selection::Field(f) => self.field(&f.node)?,
                Selection::InlineFragment(i) => self.selections(&i.node.selection_set.node)?,
                Selection::FragmentSpread(s) => self.spread(&s.node.fragment_name.node)?,
            };
            cost = cost.saturating_add(c);
            depth = depth.max(d);
        }
        Ok((cost, depth))
    }

    fn field(&self, f: &async_graphql::parser::types::Field) -> Result<(u64, usize), ServerError> {
        let name = f.name.node.as_str();
        let (inner, depth) = self.selections(&f.selection_set.node)?;
        let depth = depth + 1;
        if name.starts_with("__") {
            return Ok((0, depth));
        }
        if CONNECTIONS.contains(&name) {
            let page = |arg: &str| match self.int_arg(f, arg) {
                None => Ok(None),
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(n) if (1..=i64::from(MAX_PAGE)).contains(&n) => Ok(Some(n as u64)),
                    _ => Err(()),
                },
                Some(_) => Err(()),
            };
            let bad = || {
                let at = f.alias.as_ref().map_or(name, |a| a.node.as_str());
                refuse(
                    format!("{at}: give either first or last, from 1 to {MAX_PAGE}"),
                    "VALIDATION_FAILED",
                )
            };
            let n = match (page("first"), page("last")) {
                (Ok(Some(n)), Ok(None)) | (Ok(None), Ok(Some(n))) => n,
                _ => return Err(bad()),
            };
            return Ok((n.saturating_mul(inner.max(1)), depth));
        }
        if f.selection_set.node.items.is_empty() {
            Ok((0, depth))
        } else if WRAPPERS.contains(&name) {
            Ok((inner, depth))
        } else {
            Ok((inner.saturating_add(1), depth))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(query: &str, vars: serde_json::Value) -> Result<Measure, String> {
        let doc = async_graphql::parser::parse_query(query).map_err(|e| e.to_string())?;
        let vars = Variables::from_json(vars);
        measure(&doc, None, &vars)
            .map(|m| m.expect("one operation"))
            .map_err(|e| e.message)
    }

    #[test]
    fn a_connection_costs_its_page_times_its_nodes() {
        let seed = "{ customer(id: \"x\") { name tickets(status: OPEN, first: 20) { edges { node { id title priority } } } assets(first: 20) { edges { node { name type } } } } }";
        assert_eq!(measured(seed, serde_json::json!({})).unwrap().cost, 41);
        let fifty = "{ customers(first: 50) { edges { node { name tickets(first: 10) { edges { node { id } } } assets(first: 10) { edges { node { id } } } } } } }";
        let m = measured(fifty, serde_json::json!({})).unwrap();
        assert_eq!(m.cost, 1000);
        let over = fifty.replace(
            "assets(first: 10)",
            "assets(first: 10) { pageInfo { hasNextPage } } x: assets(first: 1)",
        );
        assert_eq!(
            measured(&over, serde_json::json!({})).unwrap().cost,
            50 * 21
        );
        let fragment = "query($n: Int = 3) { ...F } fragment F on Query { tickets(first: $n) { edges { node { customer { name } } } } }";
        assert_eq!(measured(fragment, serde_json::json!({})).unwrap().cost, 3);
        assert_eq!(
            measured(fragment, serde_json::json!({"n": 7}))
                .unwrap()
                .cost,
            7
        );
    }

    /// Fragments spreading the next twice, 60 deep: 2^60 paths, each
    /// fragment measured once (an exponential walk would never finish).
    fn fragment_bomb(leaf: &str) -> String {
        let mut q = String::from("{ ...F0 }");
        for i in 0..60 {
            q.push_str(&format!(
                " fragment F{i} on Query {{ ...F{n} a{i}: __typename ...F{n} }}",
                n = i + 1
            ));
        }
        q.push_str(&format!(" fragment F60 on Query {{ {leaf} }}"));
        q
    }

    #[test]
    fn fragments_are_measured_once_and_cycles_refused() {
        let bomb = fragment_bomb("customers(first: 1) { edges { node { id } } }");
        let m = measured(&bomb, serde_json::json!({})).unwrap();
        assert_eq!(m.cost, 1 << 60);
        assert!(!m.introspection);
        let quiet = measured(&fragment_bomb("__typename"), serde_json::json!({})).unwrap();
        assert!(quiet.introspection);
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { __typename ...A }";
        assert!(
            measured(cycle, serde_json::json!({}))
                .unwrap_err()
                .contains("spreads itself")
        );
    }

    #[test]
    fn page_sizes_are_required_and_bounded() {
        for bad in [
            "{ customers { edges { node { id } } } }",
            "{ customers(first: 101) { edges { node { id } } } }",
            "{ customers(first: 0) { edges { node { id } } } }",
            "{ customers(first: 5, last: 5) { edges { node { id } } } }",
            "{ customers(first: \"5\") { edges { node { id } } } }",
            "query($n: Int) { customers(first: $n) { edges { node { id } } } }",
        ] {
            assert!(measured(bad, serde_json::json!({})).is_err(), "{bad}");
        }
        assert!(
            measured(
                "{ customers(last: 100) { edges { node { id } } } }",
                serde_json::json!({})
            )
            .is_ok()
        );
    }

    #[test]
    fn depth_counts_every_field_and_introspection_is_marked() {
        let m = measured(
            "{ customer(id: \"x\") { tickets(first: 1) { edges { node { id } } } } }",
            serde_json::json!({}),
        )
        .unwrap();
        assert_eq!(m.depth, 5);
        assert!(!m.introspection);
        let m = measured("{ __schema { types { name } } }", serde_json::json!({})).unwrap();
        assert!(m.introspection);
        assert_eq!(m.cost, 0);
    }

    #[test]
    fn connections_are_the_schemas_paged_fields() {
        let sdl = crate::graphql::sdl();
        let mut paged: Vec<&str> = sdl
            .lines()
            .filter(|l| l.contains("(first: Int"))
            .filter_map(|l| l.trim().split('(').next())
            .collect();
        paged.sort_unstable();
        paged.dedup();
        let mut listed = CONNECTIONS.to_vec();
        listed.sort_unstable();
        assert_eq!(paged, listed);
    }
}
