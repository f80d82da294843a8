//! JSON held as its compact text, parsed when it is read: what the harness keeps per object
//! at a tenant's size (a resource read back, the expected state of a user, the view an IdP
//! last sent). A parsed `serde_json::Value` costs about ten times its text (every object a hash
//! map with spare room), and a 100,000-user run holds one of each per user at once.
//!
//! ```
//! use scimulator::compact::Compact;
//! let c = Compact::from(serde_json::json!({"userName": "ana@example.com", "active": true}));
//! assert_eq!(c.value()["active"], true);
//! ```

use serde_json::Value;

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
}
