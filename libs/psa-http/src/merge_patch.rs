//! JSON Merge Patch (RFC 7396).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::extract::from_value;
use crate::problem::Problem;

/// `current` with `patch` applied, read as `T` (a 422 naming the field that
/// does not fit). A patch may name only `T`'s fields, and `null` only where
/// `T` takes one, as the document's patch schema says: it is first laid
/// over `current` with its nulls kept and read as `T`, so a patch that
/// clears a field that does not exist (`{"typo": null}`) or one that cannot
/// be empty is refused instead of quietly doing nothing or resetting it.
pub fn merged<T: DeserializeOwned>(current: &Value, patch: &Value) -> Result<T, Problem> {
    let mut overlaid = current.clone();
    overlay(&mut overlaid, patch);
    from_value::<T>(overlaid)?;
    let mut target = current.clone();
    apply(&mut target, patch);
    from_value(target)
}

/// `current` with a JSON Merge Patch applied, or None when the patch
/// changes nothing (then a handler makes no new version and no event). A
/// patch that is not an object is 400; a value that does not fit is a 422
/// naming the field.
pub fn changed<I>(current: &I, patch: &Value) -> Result<Option<I>, Problem>
where
    I: serde::Serialize + DeserializeOwned + PartialEq,
{
    if !patch.is_object() {
        return Err(Problem::bad_request("a merge patch must be a JSON object"));
    }
    let value = serde_json::to_value(current).map_err(|e| Problem::internal(&e))?;
    let next: I = merged(&value, patch)?;
    Ok((next != *current).then_some(next))
}

/// Like [`apply`], but a `null` is set instead of removing the member.
fn overlay(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            overlay(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Applies `patch` to `target` in place, exactly as RFC 7396 section 2 says.
pub fn apply(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                apply(target_map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        name: String,
        note: Option<String>,
        #[serde(default)]
        flag: bool,
    }

    #[test]
    fn a_patch_names_only_fields_and_nulls_only_what_takes_one() {
        let current = json!({"name": "a", "note": "n", "flag": true});
        let t: Thing = merged(&current, &json!({"note": null})).unwrap();
        assert!(t.note.is_none());
        for bad in [
            json!({"typo": null}),
            json!({"flag": null}),
            json!({"name": null}),
        ] {
            let err = merged::<Thing>(&current, &bad).unwrap_err();
            assert_eq!(err.status.as_u16(), 422, "{bad}");
        }
    }

    /// The examples of RFC 7396 appendix A.
    #[test]
    fn rfc_7396_appendix_a() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            apply(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-c]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Applying the same patch twice changes nothing more (RFC 7396 patches are idempotent).
        #[test]
        fn idempotent(target in arb_json(), patch in arb_json()) {
            let mut once = target.clone();
            apply(&mut once, &patch);
            let mut twice = once.clone();
            apply(&mut twice, &patch);
            prop_assert_eq!(once, twice);
        }

        /// A patch never leaves a null it asked to remove.
        #[test]
        fn nulls_remove(target in arb_json(), key in "[a-d]") {
            let mut t = target.clone();
            let patch = json!({ key.clone(): null });
            apply(&mut t, &patch);
            prop_assert!(t.get(&key).is_none());
        }
    }
}
