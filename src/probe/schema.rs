//! What the probes may write: the attributes the server's `/Schemas` declares (RFC 7643 §7),
//! or the RFC 7643 §4.1/§4.2 core set when it declares none. Probe attributes are chosen from
//! here, and probe users carry every attribute marked `required`:
//!
//! ```text
//! /Schemas User: userName (required), name {familyName (required), formatted (required),
//!                givenName}, emails (required), externalId
//!   ⇒ probe user {"userName": "rfc.r3f9.a@example.com",
//!                 "name": {"familyName": "Probe", "formatted": "Rfc Probe"},
//!                 "emails": [{"value": "rfc.r3f9.a@example.com", "type": "work", "primary": true}]}
//!   ⇒ removable string attributes: externalId, name.givenName
//! ```

use serde_json::{json, Map, Value};

/// One attribute as /Schemas declares it.
#[derive(Debug, Clone)]
pub(crate) struct AttrDef {
    pub name: String,
    /// `string`, `boolean`, `complex`, `reference`, ...
    pub ty: String,
    pub multi: bool,
    pub required: bool,
    /// `readWrite` when not given (RFC 7643 §2.2 default).
    pub mutability: String,
    /// `default` when not given (RFC 7643 §2.2 default).
    pub returned: String,
    pub subs: Vec<AttrDef>,
}

impl AttrDef {
    fn from_json(v: &Value) -> Option<AttrDef> {
        let s = |k: &str, d: &str| v[k].as_str().unwrap_or(d).to_string();
        Some(AttrDef {
            name: v["name"].as_str()?.to_string(),
            ty: s("type", "string").to_ascii_lowercase(),
            multi: v["multiValued"].as_bool().unwrap_or(false),
            required: v["required"].as_bool().unwrap_or(false),
            mutability: s("mutability", "readWrite"),
            returned: s("returned", "default"),
            subs: AttrDef::list(&v["subAttributes"]).unwrap_or_default(),
        })
    }

    /// The attributes of a schema's `attributes` (or `subAttributes`) array.
    pub fn list(v: &Value) -> Option<Vec<AttrDef>> {
        Some(
            v.as_array()?
                .iter()
                .filter_map(AttrDef::from_json)
                .collect(),
        )
    }

    fn writable(&self) -> bool {
        !self.mutability.eq_ignore_ascii_case("readOnly")
            && !self.mutability.eq_ignore_ascii_case("immutable")
    }

    fn sub(&self, name: &str) -> Option<&AttrDef> {
        self.subs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// A plausible value for a required attribute the probe has nothing to say about.
    fn filler(&self, user_name: &str) -> Value {
        let one = match self.ty.as_str() {
            "boolean" => json!(true),
            "integer" => json!(1),
            "decimal" => json!(1.0),
            "datetime" => json!("2020-01-01T00:00:00Z"),
            "reference" => json!("https://example.com/rfc"),
            "complex" => {
                let mut o = Map::new();
                for s in self.subs.iter().filter(|s| s.required && s.writable()) {
                    o.insert(s.name.clone(), s.filler(user_name));
                }
                // A multi-valued complex attribute is usually a list of typed values (emails,
                // phoneNumbers): give it the user name, a type and primary where declared.
                if self.multi {
                    for (k, v) in [
                        ("value", json!(user_name)),
                        ("type", json!("work")),
                        ("primary", json!(true)),
                    ] {
                        // With no sub-attributes declared, the RFC 7643 §2.4 defaults.
                        if self.subs.is_empty() || self.sub(k).is_some() {
                            o.entry(k.to_string()).or_insert(v);
                        }
                    }
                }
                Value::Object(o)
            }
            _ => json!(match self.name.as_str() {
                "familyName" => "Probe",
                "givenName" => "Rfc",
                "formatted" => "Rfc Probe",
                _ => user_name,
            }),
        };
        if self.multi {
            json!([one])
        } else {
            one
        }
    }
}

/// The User and Group attributes the probes may use.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub user: Vec<AttrDef>,
    pub group: Vec<AttrDef>,
    /// False when /Schemas said nothing and this is the core set.
    pub from_server: bool,
}

fn attr(name: &str, ty: &str, multi: bool, subs: &[(&str, &str)]) -> AttrDef {
    AttrDef {
        name: name.into(),
        ty: ty.into(),
        multi,
        required: name == "userName",
        mutability: "readWrite".into(),
        returned: "default".into(),
        subs: subs
            .iter()
            .map(|(n, t)| attr(n, t, false, &[]))
            .map(|mut a| {
                a.required = false;
                a
            })
            .collect(),
    }
}

impl Declared {
    /// RFC 7643 §4.1 (User, the attributes probes use) and §4.2 (Group), plus the common
    /// `externalId` (§3.1).
    pub fn core() -> Declared {
        let multi = [
            ("value", "string"),
            ("display", "string"),
            ("type", "string"),
            ("primary", "boolean"),
        ];
        let user = vec![
            attr("userName", "string", false, &[]),
            attr(
                "name",
                "complex",
                false,
                &[
                    ("formatted", "string"),
                    ("familyName", "string"),
                    ("givenName", "string"),
                    ("middleName", "string"),
                ],
            ),
            attr("displayName", "string", false, &[]),
            attr("nickName", "string", false, &[]),
            attr("profileUrl", "reference", false, &[]),
            attr("title", "string", false, &[]),
            attr("userType", "string", false, &[]),
            attr("active", "boolean", false, &[]),
            attr("emails", "complex", true, &multi),
            attr("phoneNumbers", "complex", true, &multi),
            attr("externalId", "string", false, &[]),
        ];
        let mut group = vec![
            attr("displayName", "string", false, &[]),
            attr(
                "members",
                "complex",
                true,
                &[
                    ("value", "string"),
                    ("$ref", "reference"),
                    ("display", "string"),
                ],
            ),
            attr("externalId", "string", false, &[]),
        ];
        group[0].required = true;
        Declared {
            user,
            group,
            from_server: false,
        }
    }

    fn top(&self, name: &str) -> Option<&AttrDef> {
        self.user.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The declared User attribute at `path` (`title`, `name.givenName`).
    pub fn user_attr(&self, path: &str) -> Option<&AttrDef> {
        match path.split_once('.') {
            None => self.top(path),
            Some((head, sub)) => self.top(head)?.sub(sub),
        }
    }

    /// Whether every path is declared for User.
    pub fn has(&self, paths: &[&str]) -> bool {
        paths.iter().all(|p| self.user_attr(p).is_some())
    }

    /// Singular, writable string User attributes other than `userName`, best first: the
    /// probe's favourites, then any other top-level one, then `externalId`, then
    /// sub-attributes (`name.givenName`). `removable`: not required either.
    pub fn strings(&self, removable: bool) -> Vec<String> {
        let ok = |a: &AttrDef| {
            a.ty == "string" && !a.multi && a.writable() && !(removable && a.required)
        };
        // Attributes whose values servers validate (language tags, time zones) are left out.
        const AVOID: [&str; 6] = [
            "userName",
            "id",
            "preferredLanguage",
            "locale",
            "timezone",
            "password",
        ];
        const FAVOURITES: [&str; 4] = ["title", "nickName", "displayName", "userType"];
        let mut out: Vec<String> = FAVOURITES
            .iter()
            .filter(|f| self.top(f).is_some_and(ok))
            .map(|f| self.top(f).expect("checked").name.clone())
            .collect();
        for a in &self.user {
            let skip = AVOID.iter().any(|x| x.eq_ignore_ascii_case(&a.name))
                || a.name.eq_ignore_ascii_case("externalId")
                || out.contains(&a.name);
            if ok(a) && !skip {
                out.push(a.name.clone());
            }
        }
        if let Some(e) = self.top("externalId").filter(|a| ok(a)) {
            out.push(e.name.clone());
        }
        for a in self
            .user
            .iter()
            .filter(|a| a.ty == "complex" && !a.multi && a.writable())
        {
            for s in a.subs.iter().filter(|s| ok(s)) {
                out.push(format!("{}.{}", a.name, s.name));
            }
        }
        out
    }

    /// The first of [`Declared::strings`] not in `avoid`, else the first one.
    pub fn pick(&self, removable: bool, avoid: &[&str]) -> Option<String> {
        let all = self.strings(removable);
        all.iter()
            .find(|a| !avoid.contains(&a.as_str()))
            .or(all.first())
            .cloned()
    }

    /// A user body: the run-scoped `userName`, `active` when declared, `extra`'s declared
    /// attributes (undeclared ones and sub-attributes are left out: a strict server would
    /// refuse or drop them), then every required attribute still missing.
    pub fn user_body(&self, user_name: &str, extra: Value) -> Value {
        let mut b = Map::new();
        b.insert("schemas".into(), json!([crate::scim::schema::USER_URN]));
        b.insert("userName".into(), json!(user_name));
        if self.top("active").is_some() {
            b.insert("active".into(), json!(true));
        }
        if let Value::Object(x) = extra {
            for (k, v) in x {
                let Some(a) = self.top(&k) else { continue };
                b.insert(k, keep_declared_subs(a, v));
            }
        }
        for a in self.user.iter().filter(|a| a.writable()) {
            match b.get_mut(&a.name) {
                None | Some(Value::Null) if a.required => {
                    b.insert(a.name.clone(), a.filler(user_name));
                }
                Some(Value::Object(o)) if a.ty == "complex" => {
                    for s in a.subs.iter().filter(|s| s.required && s.writable()) {
                        o.entry(s.name.clone())
                            .or_insert_with(|| s.filler(user_name));
                    }
                }
                Some(Value::Array(items)) if a.ty == "complex" => {
                    for o in items.iter_mut().filter_map(Value::as_object_mut) {
                        for s in a.subs.iter().filter(|s| s.required && s.writable()) {
                            o.entry(s.name.clone())
                                .or_insert_with(|| s.filler(user_name));
                        }
                    }
                }
                _ => {}
            }
        }
        Value::Object(b)
    }
}

/// `v` without the sub-attributes `a` does not declare.
fn keep_declared_subs(a: &AttrDef, v: Value) -> Value {
    if a.subs.is_empty() {
        return v;
    }
    let keep = |o: Map<String, Value>| -> Value {
        Value::Object(o.into_iter().filter(|(k, _)| a.sub(k).is_some()).collect())
    };
    match v {
        Value::Object(o) => keep(o),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| match i {
                    Value::Object(o) => keep(o),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

/// The value at `path` (`title`, `name.givenName`); `Null` when absent.
pub(crate) fn get_path(b: &Value, path: &str) -> Value {
    match path.split_once('.') {
        None => b[path].clone(),
        Some((head, sub)) => b[head][sub].clone(),
    }
}

/// `{"title": v}` or `{"name": {"givenName": v}}`.
pub(crate) fn nested(path: &str, v: Value) -> Value {
    match path.split_once('.') {
        None => json!({ path: v }),
        Some((head, sub)) => json!({ head: { sub: v } }),
    }
}

/// Lays `extra` over `b`, one level deep for objects (so `name.givenName` joins `name`).
pub(crate) fn merge(b: &mut Value, extra: Value) {
    let (Some(o), Value::Object(x)) = (b.as_object_mut(), extra) else {
        return;
    };
    for (k, v) in x {
        match (o.get_mut(&k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
            (_, v) => {
                o.insert(k, v);
            }
        }
    }
}

/// Unassigned: absent or `null` (RFC 7643 §2.5), or an empty array.
pub(crate) fn unassigned(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(Vec::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> Declared {
        let user = AttrDef::list(&json!([
            {"name": "userName", "type": "string", "required": true},
            {"name": "name", "type": "complex", "required": true, "subAttributes": [
                {"name": "givenName", "type": "string"},
                {"name": "familyName", "type": "string", "required": true},
                {"name": "formatted", "type": "string", "required": true}]},
            {"name": "emails", "type": "complex", "multiValued": true, "required": true,
             "subAttributes": [{"name": "value", "type": "string", "required": true},
                               {"name": "type", "type": "string"},
                               {"name": "primary", "type": "boolean"}]},
            {"name": "active", "type": "boolean"},
            {"name": "externalId", "type": "string"},
            {"name": "groups", "type": "complex", "multiValued": true, "mutability": "readOnly"}
        ]))
        .unwrap();
        Declared {
            user,
            group: Declared::core().group,
            from_server: true,
        }
    }

    #[test]
    fn a_probe_user_carries_the_required_attributes_and_no_undeclared_one() {
        let d = strict();
        let b = d.user_body(
            "rfc.t.a@example.com",
            json!({"title": "Probe", "name": {"givenName": "Rfc", "middleName": "X"}}),
        );
        assert_eq!(
            b,
            json!({
                "schemas": [crate::scim::schema::USER_URN],
                "userName": "rfc.t.a@example.com",
                "active": true,
                "name": {"givenName": "Rfc", "familyName": "Probe", "formatted": "Rfc Probe"},
                "emails": [{"value": "rfc.t.a@example.com", "type": "work", "primary": true}]
            })
        );
    }

    #[test]
    fn probe_attributes_come_from_schemas_and_fall_back_to_the_core_set() {
        let d = strict();
        assert_eq!(
            d.strings(true),
            ["externalId", "name.givenName"],
            "required sub-attributes cannot be removed"
        );
        assert_eq!(
            d.strings(false),
            [
                "externalId",
                "name.givenName",
                "name.familyName",
                "name.formatted"
            ]
        );
        assert_eq!(
            d.pick(true, &["externalId"]).as_deref(),
            Some("name.givenName")
        );
        let core = Declared::core();
        assert_eq!(core.pick(true, &[]).as_deref(), Some("title"));
        assert_eq!(core.pick(true, &["title"]).as_deref(), Some("nickName"));
    }

    #[test]
    fn paths_read_and_build_sub_attributes() {
        let b = json!({"name": {"givenName": "A"}, "title": "T"});
        assert_eq!(get_path(&b, "name.givenName"), "A");
        assert_eq!(get_path(&b, "title"), "T");
        assert!(get_path(&b, "nickName").is_null());
        assert_eq!(
            nested("name.givenName", json!("B")),
            json!({"name": {"givenName": "B"}})
        );
        let mut m = b.clone();
        merge(&mut m, json!({"name": {"familyName": "F"}}));
        assert_eq!(m["name"], json!({"givenName": "A", "familyName": "F"}));
    }
}
