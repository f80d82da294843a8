//! Turning client bodies into stored resources, and stored resources into responses with
//! `attributes` / `excludedAttributes` applied (RFC 7644 §3.9).
//!
//! An Entra ID user POST (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups)
//! is stored without its `meta`, `roles: []` and `password`, and `"active":"False"` becomes `false`:
//!
//! ```json
//! {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Test_User","active":"False",
//!  "meta":{"resourceType":"User"},"roles":[],"password":"x"}
//! ```

use crate::scim::error::ScimError;
use crate::scim::filter::AttrPath;
use crate::scim::patch::is_schema_urn;
use crate::scim::schema::{is_urn, AttrDef, AttrType, Mutability, ResourceTypeDef, SchemaDef};
use serde_json::{Map, Value};

/// A client body made ready to store: readOnly attributes dropped, types coerced, password apart.
#[derive(Debug, Clone)]
pub struct Normalized {
    pub body: Map<String, Value>,
    pub password: Option<String>,
}

/// Validates and normalises a POST/PUT body, or a resource after PATCH.
pub fn normalize(input: &Value, rt: &ResourceTypeDef) -> Result<Normalized, ScimError> {
    let Some(obj) = input.as_object() else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    if let Some(schemas) = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v)
    {
        let list = schemas
            .as_array()
            .ok_or_else(|| ScimError::invalid_syntax("'schemas' must be an array of URNs"))?;
        if !list.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(rt.schema.id))
        }) {
            return Err(ScimError::invalid_syntax(format!(
                "'schemas' must list {}",
                rt.schema.id
            )));
        }
    }
    let mut body = Map::new();
    let mut password = None;
    for (k, v) in obj {
        if ["schemas", "id", "meta"]
            .iter()
            .any(|x| k.eq_ignore_ascii_case(x))
        {
            // readOnly (RFC 7643 §3.1): ignored on input, as RFC 7644 §3.5.1 asks for PUT.
            continue;
        }
        if is_schema_urn(k, v, rt) {
            let schema = rt
                .extensions
                .iter()
                .copied()
                .find(|s| s.id.eq_ignore_ascii_case(k));
            let inner = normalize_attrs(v.as_object().expect("object"), schema, rt)?;
            if !inner.is_empty() {
                let key = schema.map_or(k.clone(), |s| s.id.to_string());
                body.insert(key, Value::Object(inner));
            }
            continue;
        }
        if is_urn(k) {
            // `urn:…:User:attr` at top level: file it under its schema.
            if let Some(p) = AttrPath::parse(k).filter(|p| p.urn.is_some() && p.sub.is_none()) {
                let urn = p.urn.clone().expect("urn");
                if urn.eq_ignore_ascii_case(rt.schema.id) {
                    put_attr(&mut body, &p.name, v, rt.attr(None, &p.name), &mut password)?;
                } else {
                    let def = rt.attr(Some(&urn), &p.name);
                    let key = rt
                        .extensions
                        .iter()
                        .find(|s| s.id.eq_ignore_ascii_case(&urn))
                        .map_or(urn.clone(), |s| s.id.to_string());
                    let ext = body.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = ext {
                        put_attr(m, &p.name, v, def, &mut None)?;
                    }
                }
                continue;
            }
        }
        put_attr(&mut body, k, v, rt.attr(None, k), &mut password)?;
    }
    body.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
    for def in rt.schema.attributes.iter().filter(|d| d.required) {
        if body
            .get(def.name)
            .is_none_or(|v| v.as_str().is_none_or(|s| s.trim().is_empty()))
        {
            return Err(ScimError::invalid_value(format!(
                "'{}' is required",
                def.name
            )));
        }
    }
    Ok(Normalized { body, password })
}

fn normalize_attrs(
    obj: &Map<String, Value>,
    schema: Option<&SchemaDef>,
    _rt: &ResourceTypeDef,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for (k, v) in obj {
        put_attr(&mut out, k, v, schema.and_then(|s| s.attr(k)), &mut None)?;
    }
    Ok(out)
}

fn put_attr(
    out: &mut Map<String, Value>,
    key: &str,
    v: &Value,
    def: Option<&AttrDef>,
    password: &mut Option<String>,
) -> Result<(), ScimError> {
    if let Some(d) = def {
        if d.mutability == Mutability::ReadOnly {
            return Ok(());
        }
        if d.mutability == Mutability::WriteOnly && d.name == "password" {
            match v {
                Value::String(s) => *password = Some(s.clone()),
                Value::Null => {}
                _ => return Err(ScimError::invalid_value("'password' must be a string")),
            }
            return Ok(());
        }
    }
    if let Some(v) = coerce(v, def, key)? {
        let name = def.map_or(key.to_string(), |d| d.name.to_string());
        out.insert(name, v);
    }
    Ok(())
}

/// Coerces one attribute value to its definition. `None`: unassigned (null, empty array).
fn coerce(v: &Value, def: Option<&AttrDef>, name: &str) -> Result<Option<Value>, ScimError> {
    let Some(def) = def else {
        return Ok(match v {
            Value::Null => None,
            Value::Array(a) if a.is_empty() => None,
            other => Some(other.clone()),
        });
    };
    if v.is_null() {
        return Ok(None);
    }
    if def.multi {
        let items: Vec<Value> = match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let mut out = Vec::with_capacity(items.len());
        for it in &items {
            if let Some(x) = coerce_single(it, def, name)? {
                out.push(x);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    coerce_single(v, def, name)
}

fn coerce_single(v: &Value, def: &AttrDef, name: &str) -> Result<Option<Value>, ScimError> {
    // RFC 7643 §2.5: null is unassigned, whatever the type. Entra adds members as
    // `{"$ref":null,"value":"id"}` (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups)
    // and Okta PUTs members with `"display":null` (https://github.com/jelhub/scimgateway/issues/95).
    if v.is_null() {
        return Ok(None);
    }
    Ok(Some(match def.ty {
        AttrType::Boolean => match v {
            Value::Bool(_) => v.clone(),
            // Entra's default dialect sends "True"/"False" strings
            // (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            Value::Null => return Ok(None),
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "'{name}' must be a boolean, got {v}"
                )))
            }
        },
        AttrType::Complex => match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    let sd = def.sub_attr(k);
                    if let Some(c) = match sd {
                        Some(s) => coerce_single(x, s, k)?,
                        None if x.is_null() => None,
                        None => Some(x.clone()),
                    } {
                        out.insert(sd.map_or(k.clone(), |s| s.name.to_string()), c);
                    }
                }
                if def.name == "members" && !out.get("value").is_some_and(Value::is_string) {
                    return Err(ScimError::invalid_value(
                        "every member needs a string 'value'",
                    ));
                }
                if out.is_empty() {
                    return Ok(None);
                }
                Value::Object(out)
            }
            // Entra sends manager as a bare id string
            // (https://github.com/apache/directory-scimple/issues/1242,
            // https://github.com/Captain-P-Goldfish/SCIM-SDK/issues/686).
            Value::String(s) if def.name == "manager" => {
                if s.is_empty() {
                    return Ok(None);
                }
                serde_json::json!({"value": s})
            }
            // The Entra tutorial's manager update sends a one-element array:
            // `{"op":"Add","path":"manager","value":[{"$ref":"…","value":"id"}]}`
            // (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
            Value::Array(a) if def.name == "manager" && a.len() == 1 => {
                return coerce_single(&a[0], def, name)
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "'{name}' must be an object, got {v}"
                )))
            }
        },
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => match v {
            Value::String(_) => v.clone(),
            Value::Number(_) | Value::Bool(_) if def.name != "userName" => {
                Value::String(v.to_string())
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "'{name}' must be a string, got {v}"
                )))
            }
        },
        AttrType::Integer | AttrType::Decimal => match v {
            Value::Number(_) => v.clone(),
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "'{name}' must be a number, got {v}"
                )))
            }
        },
    }))
}

/// `attributes` / `excludedAttributes` of a request (RFC 7644 §3.9).
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        fn list(s: Option<&str>) -> Result<Vec<AttrPath>, ScimError> {
            let mut out = Vec::new();
            for part in s
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                // A bare schema URN (`urn:…:enterprise:2.0:User`) names the whole extension.
                let p = if is_urn(part)
                    && part
                        .rsplit(':')
                        .next()
                        .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
                {
                    AttrPath {
                        urn: None,
                        name: part.to_string(),
                        sub: None,
                    }
                } else {
                    AttrPath::parse(part).ok_or_else(|| {
                        ScimError::invalid_value(format!("'{part}' is not an attribute path"))
                    })?
                };
                out.push(p);
            }
            Ok(out)
        }
        Ok(Projection {
            attributes: list(attributes)?,
            excluded: list(excluded)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Applies the projection to a rendered resource. `id` and `schemas` are always returned.
    pub fn apply(&self, resource: &mut Value, rt: &ResourceTypeDef) {
        let Some(obj) = resource.as_object_mut() else {
            return;
        };
        if !self.attributes.is_empty() {
            let keys: Vec<String> = obj.keys().cloned().collect();
            for k in keys {
                if k == "id" || k == "schemas" {
                    continue;
                }
                let is_ext = obj.get(&k).is_some_and(|v| is_schema_urn(&k, v, rt));
                if is_ext {
                    let wanted: Vec<&AttrPath> = self
                        .attributes
                        .iter()
                        .filter(|p| p.urn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&k)))
                        .collect();
                    let whole = self
                        .attributes
                        .iter()
                        .any(|p| p.urn.is_none() && p.name.eq_ignore_ascii_case(&k));
                    if whole {
                        continue;
                    }
                    if wanted.is_empty() {
                        obj.remove(&k);
                        continue;
                    }
                    if let Some(Value::Object(ext)) = obj.get_mut(&k) {
                        keep_only(ext, &wanted);
                        if ext.is_empty() {
                            obj.remove(&k);
                        }
                    }
                    continue;
                }
                let wanted: Vec<&AttrPath> = self
                    .attributes
                    .iter()
                    .filter(|p| {
                        p.name.eq_ignore_ascii_case(&k)
                            && p.urn
                                .as_deref()
                                .is_none_or(|u| u.eq_ignore_ascii_case(rt.schema.id))
                    })
                    .collect();
                if wanted.is_empty() {
                    obj.remove(&k);
                } else if wanted.iter().all(|p| p.sub.is_some()) {
                    let subs: Vec<&str> = wanted.iter().filter_map(|p| p.sub.as_deref()).collect();
                    if let Some(v) = obj.get_mut(&k) {
                        keep_subs(v, &subs);
                    }
                }
            }
            retain_schemas(obj);
        }
        for p in &self.excluded {
            if p.name.eq_ignore_ascii_case("id") || p.name.eq_ignore_ascii_case("schemas") {
                continue; // returned "always"
            }
            let target = match &p.urn {
                Some(u) if !u.eq_ignore_ascii_case(rt.schema.id) => {
                    let key = obj.keys().find(|k| k.eq_ignore_ascii_case(u)).cloned();
                    match key
                        .and_then(|k| obj.get_mut(&k))
                        .and_then(Value::as_object_mut)
                    {
                        Some(ext) => ext,
                        None => continue,
                    }
                }
                _ => &mut *obj,
            };
            let Some(key) = target
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&p.name))
                .cloned()
            else {
                continue;
            };
            match &p.sub {
                None => {
                    target.remove(&key);
                }
                Some(s) => {
                    let v = target.get_mut(&key).expect("key");
                    let drop = |el: &mut Value| {
                        if let Some(m) = el.as_object_mut() {
                            m.retain(|k, _| !k.eq_ignore_ascii_case(s));
                        }
                    };
                    match v {
                        Value::Array(a) => a.iter_mut().for_each(drop),
                        other => drop(other),
                    }
                }
            }
        }
        obj.retain(|k, v| {
            k == "id" || k == "schemas" || !matches!(v, Value::Object(m) if m.is_empty())
        });
        retain_schemas(obj);
    }
}

fn keep_only(ext: &mut Map<String, Value>, wanted: &[&AttrPath]) {
    ext.retain(|k, _| wanted.iter().any(|p| p.name.eq_ignore_ascii_case(k)));
    for (k, v) in ext.iter_mut() {
        let subs: Vec<&str> = wanted
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case(k))
            .filter_map(|p| p.sub.as_deref())
            .collect();
        if !subs.is_empty()
            && wanted
                .iter()
                .filter(|p| p.name.eq_ignore_ascii_case(k))
                .all(|p| p.sub.is_some())
        {
            keep_subs(v, &subs);
        }
    }
}

fn keep_subs(v: &mut Value, subs: &[&str]) {
    let keep = |el: &mut Value| {
        if let Some(m) = el.as_object_mut() {
            m.retain(|k, _| subs.iter().any(|s| s.eq_ignore_ascii_case(k)));
        }
    };
    match v {
        Value::Array(a) => a.iter_mut().for_each(keep),
        other => keep(other),
    }
}

/// Keeps `schemas` listing only the extensions still present.
fn retain_schemas(obj: &mut Map<String, Value>) {
    let present: Vec<String> = obj
        .keys()
        .filter(|k| k.starts_with("urn:"))
        .cloned()
        .collect();
    if let Some(Value::Array(list)) = obj.get_mut("schemas") {
        let mut first = true;
        list.retain(|s| {
            let keep = first
                || s.as_str()
                    .is_some_and(|s| present.iter().any(|p| p.eq_ignore_ascii_case(s)));
            first = false;
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::patch::apply_patch;
    use crate::scim::schema::{GROUP_TYPE, USER_TYPE};
    use serde_json::json;

    fn patched(start: Value, ops: Value, rt: &ResourceTypeDef) -> Result<Value, ScimError> {
        let mut r = Value::Object(normalize(&start, rt)?.body);
        apply_patch(
            &mut r,
            &json!({"schemas": [crate::scim::schema::PATCH_URN], "Operations": ops}),
            rt,
        )?;
        Ok(Value::Object(normalize(&r, rt)?.body))
    }

    #[test]
    fn entra_post_is_stored_without_meta_roles_password() {
        let n = normalize(&json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u","active":"False","meta":{"resourceType":"User"},"roles":[],"password":"p"}), &USER_TYPE).unwrap();
        assert_eq!(
            Value::Object(n.body),
            json!({"userName":"u","active":false})
        );
        assert_eq!(n.password.as_deref(), Some("p"));
    }

    #[test]
    fn pascal_case_and_string_booleans() {
        let r = patched(
            json!({"userName":"u","active":true}),
            json!([{"op":"Replace","path":"active","value":"False"}]),
            &USER_TYPE,
        )
        .unwrap();
        assert_eq!(r["active"], json!(false));
    }

    #[test]
    fn pathless_dotted_keys_and_urn_keys() {
        let r = patched(
            json!({"userName":"u","name":{"givenName":"A","familyName":"B"}}),
            json!([{"op":"replace","value":{"displayName":"D","name.givenName":"K","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7","active":true}}]),
            &USER_TYPE,
        ).unwrap();
        assert_eq!(r["name"], json!({"givenName":"K","familyName":"B"}));
        assert_eq!(
            r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            json!("7")
        );
        assert_eq!(r["displayName"], json!("D"));
    }

    #[test]
    fn filtered_add_creates_the_entry_and_replace_updates_it() {
        let r = patched(
            json!({"userName":"u"}),
            json!([{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@x"}]),
            &USER_TYPE,
        )
        .unwrap();
        assert_eq!(r["emails"], json!([{"type":"work","value":"a@x"}]));
        let r = patched(
            r,
            json!([{"op":"Replace","path":"emails[type eq \"work\"].value","value":"b@x"}]),
            &USER_TYPE,
        )
        .unwrap();
        assert_eq!(r["emails"], json!([{"type":"work","value":"b@x"}]));
        let r = patched(r, json!([{"op":"Replace","path":"addresses[type eq \"work\"].formatted","value":"18/2111"}]), &USER_TYPE).unwrap();
        assert_eq!(
            r["addresses"],
            json!([{"type":"work","formatted":"18/2111"}])
        );
    }

    #[test]
    fn member_removal_by_value_array_and_by_filter() {
        let g = json!({"displayName":"G","members":[{"value":"a"},{"value":"b"},{"value":"c"}]});
        let r = patched(
            g.clone(),
            json!([{"op":"Remove","path":"members","value":[{"value":"b"}]}]),
            &GROUP_TYPE,
        )
        .unwrap();
        assert_eq!(r["members"], json!([{"value":"a"},{"value":"c"}]));
        let r = patched(
            g.clone(),
            json!([{"op":"remove","path":"members[value eq \"a\"]"}]),
            &GROUP_TYPE,
        )
        .unwrap();
        assert_eq!(r["members"], json!([{"value":"b"},{"value":"c"}]));
        let r = patched(g, json!([{"op":"remove","path":"members"}]), &GROUP_TYPE).unwrap();
        assert!(r.get("members").is_none());
    }

    #[test]
    fn okta_rename_with_id_and_manager_string() {
        let mut g = Value::Object(
            normalize(&json!({"displayName":"Old"}), &GROUP_TYPE)
                .unwrap()
                .body,
        );
        g["id"] = json!("g1");
        apply_patch(&mut g, &json!({"schemas":[crate::scim::schema::PATCH_URN],"Operations":[{"op":"replace","value":{"id":"g1","displayName":"New"}}]}), &GROUP_TYPE).unwrap();
        assert_eq!(g["displayName"], json!("New"));
        let r = patched(json!({"userName":"u"}), json!([{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}]), &USER_TYPE).unwrap();
        assert_eq!(
            r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
            json!({"value":"m1"})
        );
        let r = patched(
            r,
            json!([{"op":"remove","path":"manager[value eq \"m1\"]"}]),
            &USER_TYPE,
        )
        .unwrap();
        // `manager` without URN is not a core attribute: it names the enterprise one.
        assert!(r
            .get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .is_none());
        let r = patched(json!({"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}),
            json!([{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"m1\"]"}]), &USER_TYPE).unwrap();
        assert!(r
            .get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .is_none());
    }

    #[test]
    fn errors_have_the_right_scim_type() {
        use crate::scim::error::ScimType::*;
        let u = json!({"userName":"u"});
        let t = |ops: Value| patched(u.clone(), ops, &USER_TYPE).unwrap_err().scim_type;
        assert_eq!(t(json!([{"op":"remove"}])), Some(NoTarget));
        assert_eq!(
            t(json!([{"op":"replace","path":"id","value":"x"}])),
            Some(Mutability)
        );
        assert_eq!(
            t(json!([{"op":"replace","path":"emails[type eq","value":"x"}])),
            Some(InvalidPath)
        );
        assert_eq!(
            t(json!([{"op":"replace","path":"active","value":"maybe"}])),
            Some(InvalidValue)
        );
        assert_eq!(
            t(json!([{"op":"remove","path":"userName"}])),
            Some(Mutability)
        );
        assert_eq!(
            t(json!([{"op":"jump","path":"userName"}])),
            Some(InvalidSyntax)
        );
        assert_eq!(
            t(json!([{"op":"replace","path":"emails[value co \"x\"].value","value":"y"}])),
            Some(NoTarget)
        );
    }

    #[test]
    fn projection() {
        let mut r = json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id":"1","userName":"u","name":{"givenName":"A","familyName":"B"},"emails":[{"value":"e","type":"work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","division":"V"},"meta":{"version":"W/\"1\""}});
        let p = Projection::parse(Some("userName,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None).unwrap();
        let mut a = r.clone();
        p.apply(&mut a, &USER_TYPE);
        assert_eq!(
            a,
            json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id":"1","userName":"u","name":{"givenName":"A"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}})
        );
        let p = Projection::parse(None, Some("emails,meta,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division,id")).unwrap();
        p.apply(&mut r, &USER_TYPE);
        assert!(r.get("emails").is_none() && r.get("meta").is_none() && r.get("id").is_some());
        assert_eq!(
            r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"department":"D"})
        );
    }
}
