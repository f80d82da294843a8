//! Attribute mappings: source attribute (or expression) → SCIM target path, per IdP app, as
//! data files under `fixtures/mappings/`. One entry of Entra's default mapping:
//!
//! ```json
//! {"target": "emails[type eq \"work\"].value", "source": "[mail]", "extra": {"primary": true}}
//! ```
//!
//! Expressions are the small subset of Entra's expression language the bundled mappings use
//! (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/functions-for-customizing-application-data):
//! `[attr]`, `Not([attr])`, `Join("sep", [a], [b], ...)`, and `"literal"`.

use crate::scim::error::ScimError;
use crate::scim::patch::{get_path, put_path};
use crate::scim::schema::ResourceTypeDef;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Where the mapping comes from (a URL).
    #[serde(default)]
    pub source: String,
    /// The IdP whose app this mapping describes (`entra`, `okta`, `okta-aiw`, `duo`); absent:
    /// guessed from the name (see [`Mapping::idp`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    pub users: Vec<Entry>,
    #[serde(default)]
    pub groups: Vec<Entry>,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most groups the app accepts (the Cisco app: 200).
    #[serde(default)]
    pub groups: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// SCIM path written: `userName`, `name.givenName`, `emails[type eq "work"].value`.
    pub target: String,
    /// Expression over the source object.
    pub source: String,
    /// Matching precedence (1 first); absent: not a matching attribute.
    #[serde(default)]
    pub matching: Option<u32>,
    /// Sibling sub-attributes written with the value (`{"primary": true}` for the work email).
    #[serde(default)]
    pub extra: Map<String, Value>,
    /// The value names another source object (`User`: manager; `members`: a group's members);
    /// written as that object's target id.
    #[serde(default)]
    pub reference: Option<String>,
    /// No public source shows this mapping; it is the simulator's assumption.
    #[serde(default)]
    pub inferred: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("unknown mapping '{0}': use one of {1}, or a path to a mapping file (.json)")]
    Unknown(String, String),
    #[error("cannot read mapping file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("mapping file {0} is not valid: {1}")]
    Invalid(String, String),
}

/// Bundled mappings, compiled in so the binary works from any directory.
const BUNDLED: &[(&str, &str)] = &[
    (
        "entra-default",
        include_str!("../../fixtures/mappings/entra-default.json"),
    ),
    (
        "cisco-secure-access-entra",
        include_str!("../../fixtures/mappings/cisco-secure-access-entra.json"),
    ),
    (
        "okta-default",
        include_str!("../../fixtures/mappings/okta-default.json"),
    ),
    (
        "duo-secure-access",
        include_str!("../../fixtures/mappings/duo-secure-access.json"),
    ),
    // branch onelogin: OneLogin and JumpCloud.
    (
        "onelogin-default",
        include_str!("../../fixtures/mappings/onelogin-default.json"),
    ),
    (
        "jumpcloud-default",
        include_str!("../../fixtures/mappings/jumpcloud-default.json"),
    ),
    // branch ping: PingFederate / PingOne.
    (
        "pingfederate-default",
        include_str!("../../fixtures/mappings/pingfederate-default.json"),
    ),
];

impl Mapping {
    /// A bundled mapping by name, or a mapping file by path.
    pub fn load(name_or_path: &str) -> Result<Mapping, MappingError> {
        if let Some((_, text)) = BUNDLED.iter().find(|(n, _)| *n == name_or_path) {
            return serde_json::from_str(text)
                .map_err(|e| MappingError::Invalid(name_or_path.into(), e.to_string()));
        }
        let p = Path::new(name_or_path);
        if p.extension().is_some_and(|e| e == "json") || p.exists() {
            // Bounded like a scenario file (branch `bounds`): not /dev/zero, not a FIFO.
            let text = crate::scenario::loader::read_bounded(
                p,
                crate::scenario::loader::MAX_SCENARIO_BYTES,
            )
            .map_err(|e| MappingError::Read(name_or_path.into(), e))?;
            let m: Mapping = serde_json::from_str(&text)
                .map_err(|e| MappingError::Invalid(name_or_path.into(), e.to_string()))?;
            for e in m.users.iter().chain(&m.groups) {
                crate::scim::filter::parse_path(&e.target).map_err(|err| {
                    MappingError::Invalid(
                        name_or_path.into(),
                        format!("target {}: {}", e.target, err.detail),
                    )
                })?;
                Expr::parse(&e.source).map_err(|err| {
                    MappingError::Invalid(
                        name_or_path.into(),
                        format!("source {}: {err}", e.source),
                    )
                })?;
            }
            return Ok(m);
        }
        Err(MappingError::Unknown(
            name_or_path.into(),
            BUNDLED
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        ))
    }

    /// The IdP this mapping belongs to: the `idp` field, else by name
    /// ([`super::registry::for_mapping_name`]: `okta…` Okta, `duo…` Duo, anything else Entra ID).
    pub fn idp(&self) -> &str {
        if let Some(i) = self.idp.as_deref() {
            return i;
        }
        super::registry::for_mapping_name(&self.name)
    }

    pub fn bundled_names() -> Vec<&'static str> {
        BUNDLED.iter().map(|(n, _)| *n).collect()
    }

    /// User matching attributes in precedence order.
    pub fn user_matching(&self) -> Vec<&Entry> {
        let mut m: Vec<&Entry> = self.users.iter().filter(|e| e.matching.is_some()).collect();
        m.sort_by_key(|e| e.matching);
        m
    }

    pub fn group_matching(&self) -> Vec<&Entry> {
        let mut m: Vec<&Entry> = self
            .groups
            .iter()
            .filter(|e| e.matching.is_some())
            .collect();
        m.sort_by_key(|e| e.matching);
        m
    }

    pub fn user_reference(&self, kind: &str) -> Option<&Entry> {
        self.users
            .iter()
            .find(|e| e.reference.as_deref() == Some(kind))
    }
}

/// A parsed source expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Attr(String),
    Literal(String),
    Not(Box<Expr>),
    Join(String, Vec<Expr>),
}

impl Expr {
    pub fn parse(s: &str) -> Result<Expr, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            return Ok(Expr::Attr(inner.trim().to_string()));
        }
        if s.starts_with('"') {
            return serde_json::from_str::<String>(s)
                .map(Expr::Literal)
                .map_err(|_| format!("bad string literal {s}"));
        }
        if let Some(args) = s.strip_prefix("Not(").and_then(|x| x.strip_suffix(')')) {
            return Ok(Expr::Not(Box::new(Expr::parse(args)?)));
        }
        if let Some(args) = s.strip_prefix("Join(").and_then(|x| x.strip_suffix(')')) {
            let parts = split_args(args);
            let (sep, rest) = parts.split_first().ok_or("Join needs a separator")?;
            let sep = match Expr::parse(sep)? {
                Expr::Literal(l) => l,
                _ => return Err("Join's first argument must be a string literal".into()),
            };
            return Ok(Expr::Join(
                sep,
                rest.iter()
                    .map(|p| Expr::parse(p))
                    .collect::<Result<_, _>>()?,
            ));
        }
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Ok(Expr::Attr(s.to_string()));
        }
        Err(format!("unsupported expression {s:?} (supported: [attr], Not(...), Join(\"sep\", ...), \"literal\")"))
    }

    /// Evaluates against `lookup` (source attribute → value). `None` is "no value": Entra sends
    /// nothing for it.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
        match self {
            Expr::Attr(a) => {
                lookup(a).filter(|v| !v.is_null() && v != &Value::String(String::new()))
            }
            Expr::Literal(l) => Some(Value::String(l.clone())),
            Expr::Not(e) => match e.eval(lookup)? {
                Value::Bool(b) => Some(Value::Bool(!b)),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Some(Value::Bool(false)),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Some(Value::Bool(true)),
                _ => None,
            },
            Expr::Join(sep, parts) => {
                let vals: Vec<String> = parts
                    .iter()
                    .filter_map(|p| p.eval(lookup))
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .filter(|s| !s.is_empty())
                    .collect();
                (!vals.is_empty()).then(|| Value::String(vals.join(sep)))
            }
        }
    }
}

fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut cur) = (0, false, String::new());
    for c in s.chars() {
        match c {
            '"' => in_str = !in_str,
            '(' | '[' if !in_str => depth += 1,
            ')' | ']' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Builds the SCIM view of a source object: every entry whose expression has a value, written
/// at its target path. Reference entries are left to the caller (`references` gives their
/// already-resolved values).
pub fn build_view(
    entries: &[Entry],
    lookup: &dyn Fn(&str) -> Option<Value>,
    references: &dyn Fn(&Entry) -> Option<Value>,
    rt: &ResourceTypeDef,
) -> Result<Value, ScimError> {
    let mut out = Value::Object(Map::new());
    for e in entries {
        let v = match &e.reference {
            Some(_) => references(e),
            None => Expr::parse(&e.source).ok().and_then(|x| x.eval(lookup)),
        };
        let Some(v) = v else { continue };
        put_path(&mut out, &e.target, &v, rt)?;
        if let Some((base, _)) = e.target.rsplit_once('.') {
            for (k, x) in &e.extra {
                put_path(&mut out, &format!("{base}.{k}"), x, rt)?;
            }
        }
    }
    Ok(out)
}

/// `(target path, desired value, current value)` of each mapped attribute that differs. A value
/// the source lacks is never cleared: the IdPs send no nulls
/// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/known-issues).
pub fn differences(
    entries: &[Entry],
    desired: &Value,
    current: &Value,
    rt: &ResourceTypeDef,
) -> Vec<(String, Value, Option<Value>)> {
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.reference.is_none()) {
        let Some(want) = get_path(desired, &e.target, rt) else {
            continue;
        };
        let have = get_path(current, &e.target, rt);
        let same = match (&want, &have) {
            (Value::Bool(b), Some(Value::String(s))) => {
                s.eq_ignore_ascii_case(if *b { "true" } else { "false" })
            }
            (w, Some(h)) => w == h,
            _ => false,
        };
        if !same {
            out.push((e.target.clone(), want, have));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::USER_TYPE;
    use serde_json::json;

    #[test]
    fn bundled_mappings_load_and_parse() {
        for n in Mapping::bundled_names() {
            let m = Mapping::load(n).unwrap();
            for e in m.users.iter().chain(&m.groups) {
                Expr::parse(&e.source).unwrap_or_else(|err| panic!("{n}: {err}"));
                crate::scim::filter::parse_path(&e.target).unwrap();
            }
            assert!(
                !m.user_matching().is_empty(),
                "{n} has a matching attribute"
            );
        }
        assert!(Mapping::load("nope").is_err());
    }

    #[test]
    fn expressions() {
        let src =
            json!({"givenName": "Test", "surname": "User", "IsSoftDeleted": false, "empty": ""});
        let look = |k: &str| src.get(k).cloned();
        assert_eq!(
            Expr::parse(r#"Join(" ", [givenName], [surname])"#)
                .unwrap()
                .eval(&look),
            Some(json!("Test User"))
        );
        assert_eq!(
            Expr::parse("Not([IsSoftDeleted])").unwrap().eval(&look),
            Some(json!(true))
        );
        assert_eq!(Expr::parse("[empty]").unwrap().eval(&look), None);
        assert_eq!(Expr::parse("[missing]").unwrap().eval(&look), None);
    }

    #[test]
    fn view_with_filtered_paths_and_extra() {
        let m = Mapping::load("entra-default").unwrap();
        let src = json!({"userPrincipalName": "a@x", "mail": "a@x", "givenName": "A", "surname": "B", "IsSoftDeleted": false, "department": "D"});
        let v = build_view(&m.users, &|k| src.get(k).cloned(), &|_| None, &USER_TYPE).unwrap();
        assert_eq!(v["userName"], json!("a@x"));
        assert_eq!(v["active"], json!(true));
        assert_eq!(
            v["emails"],
            json!([{"type": "work", "value": "a@x", "primary": true}])
        );
        assert_eq!(v["name"]["formatted"], json!("A B"));
        assert_eq!(
            v["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            json!("D")
        );
    }
}
