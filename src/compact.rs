//! What the harness keeps per object at a tenant's size, kept small. [`Compact`]: JSON held
//! as its compact text, parsed when it is read (a resource read back, the expected state of a
//! user, the view an IdP last sent); a parsed `serde_json::Value` costs about ten times its
//! text (every object a hash map with spare room), and a 100,000-user run holds one of each per
//! user at once. [`Shared`]: a value repeated from record to record (the header list of every
//! request, the attributes every user's POST writes) held once.
//!
//! ```
//! use scimulator::compact::{Compact, Shared};
//! let c = Compact::from(serde_json::json!({"userName": "ana@example.com", "active": true}));
//! assert_eq!(c.value()["active"], true);
//! let mut requests: Shared<str, 4> = Shared::default();
//! let a = requests.share("POST /Users".to_string());
//! assert!(std::sync::Arc::ptr_eq(&a, &requests.share("POST /Users".to_string())));
//! ```

use serde_json::Value;
use std::borrow::Borrow;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Compact(Box<str>);

impl Compact {
    /// The JSON as a tree: a fresh parse each time, so callers hold one at a time.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// `text` as serde_json wrote it from a value (compact, valid): kept without a parse.
    pub fn from_serialized(text: String) -> Self {
        Compact(text.into_boxed_str())
    }

    /// Changes the JSON through its tree.
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut Value) -> R) -> R {
        let mut v = self.value();
        let r = f(&mut v);
        *self = Compact::from(&v);
        r
    }
}

/// Equal as JSON values (object keys in any order), as the trees compare.
impl PartialEq for Compact {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 || self.value() == other.value()
    }
}

impl From<&Value> for Compact {
    fn from(v: &Value) -> Self {
        Compact(v.to_string().into_boxed_str())
    }
}

impl From<Value> for Compact {
    fn from(v: Value) -> Self {
        Compact::from(&v)
    }
}

impl Default for Compact {
    fn default() -> Self {
        Compact("null".into())
    }
}

/// The last `N` distinct values handed out, each held once: [`Self::share`] returns the held
/// copy of a value equal to one of them, else holds the new one (the oldest one then goes).
#[derive(Debug)]
pub struct Shared<T: ?Sized, const N: usize>(Vec<Arc<T>>);

impl<T: ?Sized, const N: usize> Default for Shared<T, N> {
    fn default() -> Self {
        Shared(Vec::new())
    }
}

// Not derived: the held values are shared, not cloned (`[String]` and `str` are not `Clone`).
impl<T: ?Sized, const N: usize> Clone for Shared<T, N> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T: ?Sized + PartialEq, const N: usize> Shared<T, N> {
    /// `value`, shared with an equal one handed out before when there is one (newest first:
    /// a record most often repeats the one before it).
    pub fn share<V: Borrow<T> + Into<Arc<T>>>(&mut self, value: V) -> Arc<T> {
        if let Some(held) = self.0.iter().rev().find(|h| ***h == *value.borrow()) {
            return held.clone();
        }
        let held: Arc<T> = value.into();
        if self.0.len() == N {
            self.0.remove(0);
        }
        self.0.push(held.clone());
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_value_and_compares_as_json() {
        let mut c = Compact::from(json!({"a": 1, "b": [true, null]}));
        assert_eq!(c.value(), json!({"b": [true, null], "a": 1}));
        assert_eq!(c, Compact::from(json!({"b": [true, null], "a": 1})));
        assert_ne!(c, Compact::from(json!({"a": 2, "b": [true, null]})));
        c.edit(|v| v["a"] = json!(2));
        assert_eq!(c.value()["a"], 2);
    }

    #[test]
    fn equal_values_are_held_once_among_the_last_n() {
        let mut lists: Shared<[String], 2> = Shared::default();
        let list = |s: &str| vec![s.to_string()];
        let a = lists.share(list("userName"));
        assert!(Arc::ptr_eq(&a, &lists.share(list("userName"))));
        let b = lists.share(list("members"));
        assert_eq!(&*b, ["members".to_string()]);
        assert!(!Arc::ptr_eq(&a, &b));
        // A third distinct value pushes the oldest out: equal again, no longer the same copy.
        lists.share(list("active"));
        let again = lists.share(list("userName"));
        assert_eq!(again, a);
        assert!(!Arc::ptr_eq(&again, &a));
    }
}
