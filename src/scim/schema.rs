//! The SCIM schemas the built-in server knows (RFC 7643 §4 and §8.7): core User, core Group and the
//! enterprise User extension, as data. They drive filter case rules, PATCH targets, `returned`
//! and `mutability`, and the `/Schemas` and `/ResourceTypes` documents.
//!
//! A lookup resolves an attribute path such as
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` to its definition;
//! attributes of schemas the server does not know (for example Cisco's
//! `urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User:nativeObjectId`) resolve to
//! nothing and are treated as simple, case-insensitive strings.

use serde_json::{json, Map, Value};
use std::sync::LazyLock;

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// Entra ID lists this non-standard schema in its group POSTs
/// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
pub const ADSCIM_GROUP_URN: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub description: &'static str,
    pub sub: Vec<AttrDef>,
}

impl AttrDef {
    fn new(name: &'static str, ty: AttrType, description: &'static str) -> Self {
        AttrDef {
            name,
            ty,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical: &[],
            reference_types: &[],
            description,
            sub: Vec::new(),
        }
    }
    fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    fn unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }
    fn canonical(mut self, c: &'static [&'static str]) -> Self {
        self.canonical = c;
        self
    }
    fn refs(mut self, r: &'static [&'static str]) -> Self {
        self.reference_types = r;
        self
    }
    fn sub(mut self, sub: Vec<AttrDef>) -> Self {
        self.sub = sub;
        self
    }

    /// The sub-attribute named `name`, case-insensitively (RFC 7643 §2.1).
    pub fn sub_attr(&self, name: &str) -> Option<&AttrDef> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("multiValued".into(), json!(self.multi));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if matches!(
            self.ty,
            AttrType::String | AttrType::Reference | AttrType::Binary
        ) {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        if !self.canonical.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        m.insert(
            "mutability".into(),
            json!(match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            }),
        );
        m.insert(
            "returned".into(),
            json!(match self.returned {
                Returned::Always => "always",
                Returned::Never => "never",
                Returned::Default => "default",
                Returned::Request => "request",
            }),
        );
        m.insert(
            "uniqueness".into(),
            json!(match self.uniqueness {
                Uniqueness::None => "none",
                Uniqueness::Server => "server",
                Uniqueness::Global => "global",
            }),
        );
        if !self.sub.is_empty() {
            m.insert(
                "subAttributes".into(),
                Value::Array(self.sub.iter().map(AttrDef::to_json).collect()),
            );
        }
        Value::Object(m)
    }
}

/// One schema (RFC 7643 §7): its URN, name and attributes.
#[derive(Debug, Clone)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: Vec<AttrDef>,
}

impl SchemaDef {
    pub fn attr(&self, name: &str) -> Option<&AttrDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The schema resource served at `/Schemas/{id}` (RFC 7643 §7, §8.7.1).
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(AttrDef::to_json).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            }
        })
    }
}

/// A resource type (RFC 7643 §6): endpoint, core schema, extensions.
#[derive(Debug, Clone)]
pub struct ResourceTypeDef {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static SchemaDef,
    pub extensions: Vec<&'static SchemaDef>,
}

/// The attribute path a filter, a PATCH or `attributes=` names, resolved against a resource type.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    /// `id`, `externalId`, `meta` (RFC 7643 §3.1), or a schema attribute.
    Known(&'a AttrDef),
    /// Not in any schema the server knows: stored and returned as it came.
    Unknown,
}

impl ResourceTypeDef {
    pub fn is_extension(&self, urn: &str) -> bool {
        self.extensions
            .iter()
            .any(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every schema URN this resource type accepts in `schemas`.
    pub fn schema_ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.schema.id).chain(self.extensions.iter().map(|s| s.id))
    }

    /// The definition of a top-level attribute, with its optional schema URN.
    pub fn attr(&self, urn: Option<&str>, name: &str) -> Option<&AttrDef> {
        match urn {
            None => COMMON
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
                .or_else(|| self.schema.attr(name)),
            Some(u) if u.eq_ignore_ascii_case(self.schema.id) => COMMON
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
                .or_else(|| self.schema.attr(name)),
            Some(u) => self
                .extensions
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(u))
                .and_then(|s| s.attr(name)),
        }
    }

    /// Definition of `name` or `name.sub`.
    pub fn resolve(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Resolved<'_> {
        let Some(top) = self.attr(urn, name) else {
            return Resolved::Unknown;
        };
        match sub {
            None => Resolved::Known(top),
            Some(s) => top.sub_attr(s).map_or(Resolved::Unknown, Resolved::Known),
        }
    }

    /// The ResourceType resource (RFC 7643 §6).
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_URN],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter()
                .map(|s| json!({"schema": s.id, "required": false}))
                .collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name),
            }
        })
    }
}

use AttrType as T;
use Mutability as M;

fn multi_complex(
    name: &'static str,
    desc: &'static str,
    types: &'static [&'static str],
) -> AttrDef {
    AttrDef::new(name, T::Complex, desc).multi().sub(vec![
        AttrDef::new("value", T::String, "The attribute's value."),
        AttrDef::new(
            "display",
            T::String,
            "A human-readable name, primarily used for display purposes.",
        ),
        AttrDef::new(
            "type",
            T::String,
            "A label indicating the attribute's function.",
        )
        .canonical(types),
        AttrDef::new(
            "primary",
            T::Boolean,
            "A Boolean value indicating the 'primary' or preferred attribute value.",
        ),
    ])
}

/// `id`, `externalId` and `meta`: common to every resource (RFC 7643 §3.1).
pub static COMMON: LazyLock<Vec<AttrDef>> = LazyLock::new(|| {
    vec![
        AttrDef::new(
            "id",
            T::String,
            "Unique identifier assigned by the service provider.",
        )
        .exact()
        .mutability(M::ReadOnly)
        .returned(Returned::Always)
        .unique(),
        AttrDef::new(
            "externalId",
            T::String,
            "Identifier defined by the provisioning client.",
        )
        .exact(),
        AttrDef::new("meta", T::Complex, "Resource metadata.")
            .mutability(M::ReadOnly)
            .sub(vec![
                AttrDef::new("resourceType", T::String, "The resource type.")
                    .exact()
                    .mutability(M::ReadOnly),
                AttrDef::new("created", T::DateTime, "When the resource was added.")
                    .mutability(M::ReadOnly),
                AttrDef::new(
                    "lastModified",
                    T::DateTime,
                    "When the resource was last updated.",
                )
                .mutability(M::ReadOnly),
                AttrDef::new("location", T::Reference, "The URI of the resource.")
                    .exact()
                    .mutability(M::ReadOnly)
                    .refs(&["uri"]),
                AttrDef::new("version", T::String, "The version (ETag) of the resource.")
                    .exact()
                    .mutability(M::ReadOnly),
            ]),
    ]
});

pub static USER_SCHEMA: LazyLock<SchemaDef> = LazyLock::new(|| SchemaDef {
    id: USER_URN,
    name: "User",
    description: "User Account",
    attributes: vec![
        AttrDef::new(
            "userName",
            T::String,
            "Unique identifier for the User, typically used to authenticate.",
        )
        .required()
        .unique(),
        AttrDef::new(
            "name",
            T::Complex,
            "The components of the user's real name.",
        )
        .sub(vec![
            AttrDef::new(
                "formatted",
                T::String,
                "The full name, formatted for display.",
            ),
            AttrDef::new("familyName", T::String, "The family name of the User."),
            AttrDef::new("givenName", T::String, "The given name of the User."),
            AttrDef::new("middleName", T::String, "The middle name(s) of the User."),
            AttrDef::new(
                "honorificPrefix",
                T::String,
                "The honorific prefix(es) of the User.",
            ),
            AttrDef::new(
                "honorificSuffix",
                T::String,
                "The honorific suffix(es) of the User.",
            ),
        ]),
        AttrDef::new(
            "displayName",
            T::String,
            "The name of the User, suitable for display.",
        ),
        AttrDef::new("nickName", T::String, "The casual way to address the user."),
        AttrDef::new(
            "profileUrl",
            T::Reference,
            "A fully qualified URL pointing to the User's online profile.",
        )
        .refs(&["external"]),
        AttrDef::new(
            "title",
            T::String,
            "The user's title, such as \"Vice President\".",
        ),
        AttrDef::new(
            "userType",
            T::String,
            "The relationship between the organization and the user.",
        ),
        AttrDef::new(
            "preferredLanguage",
            T::String,
            "The User's preferred written or spoken language.",
        ),
        AttrDef::new("locale", T::String, "The User's default location."),
        AttrDef::new(
            "timezone",
            T::String,
            "The User's time zone in the 'Olson' time zone database format.",
        ),
        AttrDef::new("active", T::Boolean, "The User's administrative status."),
        AttrDef::new("password", T::String, "The User's cleartext password.")
            .mutability(M::WriteOnly)
            .returned(Returned::Never),
        multi_complex(
            "emails",
            "Email addresses for the user.",
            &["work", "home", "other"],
        ),
        multi_complex(
            "phoneNumbers",
            "Phone numbers for the User.",
            &["work", "home", "mobile", "fax", "pager", "other"],
        ),
        multi_complex(
            "ims",
            "Instant messaging addresses for the User.",
            &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
        ),
        AttrDef::new("photos", T::Complex, "URLs of photos of the User.")
            .multi()
            .sub(vec![
                AttrDef::new("value", T::Reference, "URL of a photo of the User.")
                    .refs(&["external"]),
                AttrDef::new(
                    "display",
                    T::String,
                    "A human-readable name, primarily used for display purposes.",
                ),
                AttrDef::new(
                    "type",
                    T::String,
                    "A label indicating the attribute's function.",
                )
                .canonical(&["photo", "thumbnail"]),
                AttrDef::new(
                    "primary",
                    T::Boolean,
                    "A Boolean value indicating the 'primary' or preferred attribute value.",
                ),
            ]),
        AttrDef::new(
            "addresses",
            T::Complex,
            "A physical mailing address for this User.",
        )
        .multi()
        .sub(vec![
            AttrDef::new(
                "formatted",
                T::String,
                "The full mailing address, formatted for display.",
            ),
            AttrDef::new(
                "streetAddress",
                T::String,
                "The full street address component.",
            ),
            AttrDef::new("locality", T::String, "The city or locality component."),
            AttrDef::new("region", T::String, "The state or region component."),
            AttrDef::new(
                "postalCode",
                T::String,
                "The zip code or postal code component.",
            ),
            AttrDef::new("country", T::String, "The country name component."),
            AttrDef::new(
                "type",
                T::String,
                "A label indicating the attribute's function.",
            )
            .canonical(&["work", "home", "other"]),
            AttrDef::new(
                "primary",
                T::Boolean,
                "A Boolean value indicating the 'primary' or preferred attribute value.",
            ),
        ]),
        AttrDef::new(
            "groups",
            T::Complex,
            "A list of groups to which the user belongs.",
        )
        .multi()
        .mutability(M::ReadOnly)
        .sub(vec![
            AttrDef::new("value", T::String, "The identifier of the User's group.")
                .mutability(M::ReadOnly),
            AttrDef::new(
                "$ref",
                T::Reference,
                "The URI of the corresponding 'Group' resource.",
            )
            .refs(&["User", "Group"])
            .mutability(M::ReadOnly),
            AttrDef::new("display", T::String, "A human-readable name.").mutability(M::ReadOnly),
            AttrDef::new(
                "type",
                T::String,
                "A label indicating the membership's function.",
            )
            .canonical(&["direct", "indirect"])
            .mutability(M::ReadOnly),
        ]),
        multi_complex("entitlements", "A list of entitlements for the User.", &[]),
        multi_complex("roles", "A list of roles for the User.", &[]),
        AttrDef::new(
            "x509Certificates",
            T::Complex,
            "A list of certificates issued to the User.",
        )
        .multi()
        .sub(vec![
            AttrDef::new("value", T::Binary, "The value of an X.509 certificate."),
            AttrDef::new(
                "display",
                T::String,
                "A human-readable name, primarily used for display purposes.",
            ),
            AttrDef::new(
                "type",
                T::String,
                "A label indicating the attribute's function.",
            ),
            AttrDef::new(
                "primary",
                T::Boolean,
                "A Boolean value indicating the 'primary' or preferred attribute value.",
            ),
        ]),
    ],
});

pub static ENTERPRISE_SCHEMA: LazyLock<SchemaDef> = LazyLock::new(|| SchemaDef {
    id: ENTERPRISE_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: vec![
        AttrDef::new(
            "employeeNumber",
            T::String,
            "Numeric or alphanumeric identifier assigned to a person.",
        ),
        AttrDef::new(
            "costCenter",
            T::String,
            "Identifies the name of a cost center.",
        ),
        AttrDef::new(
            "organization",
            T::String,
            "Identifies the name of an organization.",
        ),
        AttrDef::new("division", T::String, "Identifies the name of a division."),
        AttrDef::new(
            "department",
            T::String,
            "Identifies the name of a department.",
        ),
        AttrDef::new("manager", T::Complex, "The User's manager.").sub(vec![
            AttrDef::new(
                "value",
                T::String,
                "The id of the SCIM resource representing the User's manager.",
            ),
            AttrDef::new(
                "$ref",
                T::Reference,
                "The URI of the SCIM resource representing the User's manager.",
            )
            .refs(&["User"]),
            AttrDef::new(
                "displayName",
                T::String,
                "The displayName of the User's manager.",
            )
            .mutability(M::ReadOnly),
        ]),
    ],
});

pub static GROUP_SCHEMA: LazyLock<SchemaDef> = LazyLock::new(|| SchemaDef {
    id: GROUP_URN,
    name: "Group",
    description: "Group",
    attributes: vec![
        AttrDef::new(
            "displayName",
            T::String,
            "A human-readable name for the Group.",
        )
        .unique(),
        AttrDef::new("members", T::Complex, "A list of members of the Group.")
            .multi()
            .sub(vec![
                AttrDef::new(
                    "value",
                    T::String,
                    "Identifier of the member of this Group.",
                )
                .mutability(M::Immutable),
                AttrDef::new(
                    "$ref",
                    T::Reference,
                    "The URI corresponding to a SCIM resource that is a member of this Group.",
                )
                .refs(&["User", "Group"])
                .mutability(M::Immutable),
                AttrDef::new(
                    "type",
                    T::String,
                    "A label indicating the type of resource.",
                )
                .canonical(&["User", "Group"])
                .mutability(M::Immutable),
                AttrDef::new(
                    "display",
                    T::String,
                    "A human-readable name for the member.",
                )
                .mutability(M::ReadOnly),
            ]),
    ],
});

pub static USER_TYPE: LazyLock<ResourceTypeDef> = LazyLock::new(|| ResourceTypeDef {
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    schema: &USER_SCHEMA,
    extensions: vec![&ENTERPRISE_SCHEMA],
});

pub static GROUP_TYPE: LazyLock<ResourceTypeDef> = LazyLock::new(|| ResourceTypeDef {
    name: "Group",
    endpoint: "/Groups",
    description: "Group",
    schema: &GROUP_SCHEMA,
    extensions: vec![],
});

/// All schemas served at `/Schemas`.
pub fn all_schemas() -> [&'static SchemaDef; 3] {
    [&USER_SCHEMA, &GROUP_SCHEMA, &ENTERPRISE_SCHEMA]
}

/// Does `s` start with `urn:` (any case)? Safe on any UTF-8.
pub fn is_urn(s: &str) -> bool {
    s.len() > 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Splits `urn:…:User:manager.value` into (`Some(urn)`, `manager`, `Some(value)`), and
/// `name.givenName` into (`None`, `name`, `Some(givenName)`). The URN is everything before the
/// last `:`, so the `2.0` inside a URN never reads as a sub-attribute.
pub fn split_attr_path(path: &str) -> (Option<&str>, &str, Option<&str>) {
    let (urn, rest) = if is_urn(path) {
        match path.rfind(':') {
            Some(i) => (Some(&path[..i]), &path[i + 1..]),
            None => (None, path),
        }
    } else {
        (None, path)
    };
    match rest.split_once('.') {
        Some((a, s)) => (urn, a, Some(s)),
        None => (urn, rest, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_the_dot_inside_a_urn() {
        assert_eq!(
            split_attr_path(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
            ),
            (Some(ENTERPRISE_URN), "manager", Some("value"))
        );
        assert_eq!(
            split_attr_path("name.givenName"),
            (None, "name", Some("givenName"))
        );
        assert_eq!(split_attr_path("userName"), (None, "userName", None));
    }

    #[test]
    fn lookups_are_case_insensitive_and_know_extensions() {
        let u = &*USER_TYPE;
        assert!(u.attr(None, "USERNAME").is_some());
        assert!(u.attr(Some(ENTERPRISE_URN), "department").is_some());
        assert!(u.attr(Some(USER_URN), "userName").is_some());
        assert!(u.attr(None, "id").unwrap().case_exact);
        assert!(
            matches!(u.resolve(None, "emails", Some("TYPE")), Resolved::Known(a) if a.name == "type")
        );
        assert!(matches!(
            u.resolve(Some("urn:x:y"), "nativeObjectId", None),
            Resolved::Unknown
        ));
    }
}
