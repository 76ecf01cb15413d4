//! Schemas and attribute definitions (RFC 7643 §2, §7, §8.7).
//!
//! The core User and Group schemas, the enterprise User extension, and the
//! machinery to resolve an [`AttrPath`] against a resource type's schemas.

use crate::identifier::Identifier;
use crate::path::attr::AttrPath;
use std::sync::Arc;

/// Core User schema URN (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension URN (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// ListResponse message URN (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// SearchRequest message URN (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// PatchOp message URN (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// ServiceProviderConfig schema URN (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// ResourceType schema URN (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema schema URN (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// `string`
    String,
    /// `boolean`
    Boolean,
    /// `decimal`
    Decimal,
    /// `integer`
    Integer,
    /// `dateTime` (xsd:dateTime, RFC 3339 in JSON)
    DateTime,
    /// `reference`
    Reference,
    /// `complex`
    Complex,
    /// `binary` (base64)
    Binary,
}

/// Attribute mutability (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// `readOnly`: set by the service provider; client input is ignored.
    ReadOnly,
    /// `readWrite`
    ReadWrite,
    /// `immutable`: may be set once.
    Immutable,
    /// `writeOnly`: never returned (e.g. `password`).
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always returned, whatever `attributes`/`excludedAttributes` say.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded.
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

/// Uniqueness (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// `none`
    None,
    /// `server`
    Server,
    /// `global`
    Global,
}

/// One attribute definition (RFC 7643 §7 "attributes").
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    /// Canonical name as published, e.g. `userName`.
    pub name: String,
    /// Data type.
    pub ty: AttrType,
    /// Whether the attribute holds a JSON array.
    pub multi_valued: bool,
    /// Human description published in `/Schemas`.
    pub description: String,
    /// Whether the attribute is required.
    pub required: bool,
    /// Whether string comparison is case-sensitive.
    pub case_exact: bool,
    /// Mutability.
    pub mutability: Mutability,
    /// Returned.
    pub returned: Returned,
    /// Uniqueness.
    pub uniqueness: Uniqueness,
    /// Suggested canonical values (e.g. `work`, `home`).
    pub canonical_values: Vec<String>,
    /// For `reference` attributes: `User`, `Group`, `external`, `uri` ...
    pub reference_types: Vec<String>,
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: Vec<AttributeDef>,
    /// Whether (and how) the attribute is one of scimd's identifiers.
    pub identifier: Option<Identifier>,
}

/// The attribute of `attrs` named `name`, compared case-insensitively (RFC 7643 §2.1:
/// attribute names are case-insensitive).
fn named<'a>(attrs: &'a [AttributeDef], name: &str) -> Option<&'a AttributeDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

impl AttributeDef {
    /// The sub-attribute named `name`, compared case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&AttributeDef> {
        named(&self.sub_attributes, name)
    }
}

/// A schema (RFC 7643 §7): URN id, name, description, attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Schema URN.
    pub id: String,
    /// Human name, e.g. `User`.
    pub name: String,
    /// Description.
    pub description: String,
    /// Top-level attributes.
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// The top-level attribute named `name`, compared case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&AttributeDef> {
        named(&self.attributes, name)
    }
}

/// An extension of a resource type: its schema and whether it is required (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaExtension {
    /// The extension schema.
    pub schema: Arc<Schema>,
    /// `required` as published in `/ResourceTypes`.
    pub required: bool,
}

/// A resource type with its core schema and extensions (RFC 7643 §6), as used to
/// validate, project, filter and patch its resources.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    /// Resource type name: `User` or `Group`.
    pub name: String,
    /// Endpoint relative to the base URL: `/Users`.
    pub endpoint: String,
    /// Description published in `/ResourceTypes`.
    pub description: String,
    /// The core schema.
    pub core: Arc<Schema>,
    /// Extension schemas, in publication order.
    pub extensions: Vec<SchemaExtension>,
}

/// Where an attribute path leads: the schema it belongs to, the attribute, and the
/// sub-attribute if the path names one.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The schema URN the attribute belongs to.
    pub schema_urn: &'a str,
    /// Whether that schema is an extension (values live under the URN key in documents).
    pub is_extension: bool,
    /// The top-level attribute.
    pub attr: &'a AttributeDef,
    /// The sub-attribute, when the path has one.
    pub sub: Option<&'a AttributeDef>,
}

impl ResourceSchema {
    /// The extension with the given URN (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&SchemaExtension> {
        self.extensions
            .iter()
            .find(|e| e.schema.id.eq_ignore_ascii_case(urn))
    }

    /// All schemas of the resource type, core first.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        std::iter::once(self.core.as_ref()).chain(self.extensions.iter().map(|e| e.schema.as_ref()))
    }

    /// Resolves `path` against the core schema (unqualified or core-URN paths) or the
    /// named extension. Returns `None` for an unknown schema, attribute or sub-attribute.
    ///
    /// A path whose `attr` is itself an extension URN's last segment is not special:
    /// `urn:...:enterprise:2.0:User:manager.value` parses as uri=`urn:...:User`,
    /// attr=`manager`, sub_attr=`value`.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        let (schema, is_extension): (&Schema, bool) = match &path.uri {
            None => (self.core.as_ref(), false),
            Some(u) if u.eq_ignore_ascii_case(&self.core.id) => (self.core.as_ref(), false),
            Some(u) => (self.extension(u)?.schema.as_ref(), true),
        };
        let attr = schema.attr(&path.attr)?;
        let sub = match &path.sub_attr {
            None => None,
            Some(s) => Some(attr.sub(s)?),
        };
        Some(Resolved {
            schema_urn: &schema.id,
            is_extension,
            attr,
            sub,
        })
    }
}

impl AttrType {
    /// The type name as published in `/Schemas` (RFC 7643 §2.3, §7): `string`, `boolean`,
    /// `decimal`, `integer`, `dateTime`, `reference`, `complex`, `binary`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
            AttrType::Binary => "binary",
        }
    }
}

impl Mutability {
    /// The keyword as published in `/Schemas` (RFC 7643 §7): `readOnly`, `readWrite`,
    /// `immutable`, `writeOnly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

impl Returned {
    /// The keyword as published in `/Schemas` (RFC 7643 §7): `always`, `never`, `default`,
    /// `request`.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

impl Uniqueness {
    /// The keyword as published in `/Schemas` (RFC 7643 §7): `none`, `server`, `global`.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// Builders for attribute definitions, starting from the RFC 7643 §2.2 defaults.
///
/// Useful for extension schemas built at run time (e.g. a tenant's custom attributes):
/// `AttributeDef::new("badge", AttrType::String, "Badge number").with_case_exact()`.
impl AttributeDef {
    /// A single-valued attribute with the RFC 7643 §2.2 defaults: not required, not
    /// caseExact, `readWrite`, returned `default`, uniqueness `none`, no canonical values,
    /// no reference types, no sub-attributes.
    pub fn new(
        name: impl Into<String>,
        ty: AttrType,
        description: impl Into<String>,
    ) -> AttributeDef {
        AttributeDef {
            name: name.into(),
            ty,
            multi_valued: false,
            description: description.into(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
            identifier: None,
        }
    }

    /// Marks the attribute multi-valued.
    pub fn with_multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Marks the attribute required.
    pub fn with_required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks string comparison case-sensitive.
    pub fn with_case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Sets the mutability.
    pub fn with_mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    /// Sets `returned`.
    pub fn with_returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    /// Sets the uniqueness.
    pub fn with_uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }

    /// Sets the canonical values.
    pub fn with_canonical_values(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the reference types (for `reference` attributes).
    pub fn with_reference_types(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the sub-attributes (for `complex` attributes).
    pub fn with_sub_attributes(mut self, subs: Vec<AttributeDef>) -> Self {
        self.sub_attributes = subs;
        self
    }
}

fn s(name: &str, description: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::String, description)
}

fn complex(name: &str, description: &str, subs: Vec<AttributeDef>) -> AttributeDef {
    AttributeDef::new(name, AttrType::Complex, description).with_sub_attributes(subs)
}

/// The `value`, `display`, `type`, `primary` sub-attributes of the multi-valued User
/// attributes (RFC 7643 §2.4, §4.1.2, §8.7.1).
fn multi_subs(value: AttributeDef, what: &str, types: &[&str]) -> Vec<AttributeDef> {
    vec![
        value,
        s("display", "A human-readable name, primarily used for display purposes."),
        s("type", &format!("A label indicating the {what}'s function.")).with_canonical_values(types),
        AttributeDef::new(
            "primary",
            AttrType::Boolean,
            format!("A Boolean value indicating the 'primary' or preferred {what}. The primary attribute value 'true' MUST appear no more than once."),
        ),
    ]
}

/// The sub-attributes of a reference to a User or Group (User `groups`, Group `members`;
/// RFC 7643 §4.1.2, §4.2, §8.7.1): `value` (the id), `$ref` (to a User or Group), `display`
/// (always `readOnly`) and `type` (canonical values `types`), described by `descriptions`
/// in that order; all but `display` have the mutability `m`.
fn reference_subs(descriptions: [&str; 4], types: &[&str], m: Mutability) -> Vec<AttributeDef> {
    let [value, reference, display, kind] = descriptions;
    vec![
        s("value", value).with_mutability(m),
        AttributeDef::new("$ref", AttrType::Reference, reference)
            .with_reference_types(&["User", "Group"])
            .with_mutability(m),
        s("display", display).with_mutability(Mutability::ReadOnly),
        s("type", kind)
            .with_canonical_values(types)
            .with_mutability(m),
    ]
}

/// The core User schema (RFC 7643 §4.1), with the characteristics of RFC 7643 §8.7.1 and
/// the product rules of scimd's published schema: `userName`, `name`, `name.givenName`,
/// `name.familyName` and `emails` are marked `required`.
///
/// Only `userName` is enforced by [`crate::normalize`]; the other required markings are
/// a published product rule that the directory layer enforces (configurable).
/// `id`, `externalId` and `meta` are common attributes (RFC 7643 §3.1), not part of the
/// schema: see [`common_attribute`].
pub fn user_schema() -> Schema {
    let name_part = |n: &str, d: &str| s(n, d);
    let attributes = vec![
        s(
            "userName",
            "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users. REQUIRED.",
        )
        .with_required()
        .with_uniqueness(Uniqueness::Server)
        .with_identifier(Identifier::Account),
        complex(
            "name",
            "The components of the user's real name. Providers MAY return just the full name as a single string in the formatted sub-attribute, or they MAY return just the individual component attributes using the other sub-attributes, or they MAY return both.",
            vec![
                name_part(
                    "formatted",
                    "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
                ),
                name_part(
                    "familyName",
                    "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III').",
                )
                .with_required(),
                name_part(
                    "givenName",
                    "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III').",
                )
                .with_required(),
                name_part(
                    "middleName",
                    "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III').",
                ),
                name_part(
                    "honorificPrefix",
                    "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III').",
                ),
                name_part(
                    "honorificSuffix",
                    "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III').",
                ),
            ],
        )
        .with_required(),
        s(
            "displayName",
            "The name of the User, suitable for display to end-users. The name SHOULD be the full name of the User being described, if known.",
        ),
        s(
            "nickName",
            "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'. This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge').",
        ),
        AttributeDef::new(
            "profileUrl",
            AttrType::Reference,
            "A fully qualified URL pointing to a page representing the User's online profile.",
        )
        .with_reference_types(&["external"]),
        s("title", "The user's title, such as \"Vice President.\""),
        s(
            "userType",
            "Used to identify the relationship between the organization and the user. Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used.",
        ),
        s(
            "preferredLanguage",
            "Indicates the User's preferred written or spoken language. Generally used for selecting a localized user interface; e.g., 'en_US' specifies the language English and country US.",
        ),
        s(
            "locale",
            "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations.",
        ),
        s(
            "timezone",
            "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'.",
        ),
        AttributeDef::new("active", AttrType::Boolean, "A Boolean value indicating the User's administrative status."),
        s(
            "password",
            "The User's cleartext password. This attribute is intended to be used as a means to specify an initial password when creating a new User or to reset an existing User's password.",
        )
        .with_mutability(Mutability::WriteOnly)
        .with_returned(Returned::Never),
        complex(
            "emails",
            "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'.",
            multi_subs(
                // Required here (RFC 7643 leaves it optional): an email address is mandatory
                // in scimd (provisioning rule 1), and an email without a value is no address.
                s(
                    "value",
                    "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'.",
                )
                .with_required(),
                "email address",
                &["work", "home", "other"],
            ),
        )
        .with_multi_valued()
        .with_required(),
        complex(
            "phoneNumbers",
            "Phone numbers for the User. The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.",
            multi_subs(s("value", "Phone number of the User."), "phone number", &["work", "home", "mobile", "fax", "pager", "other"]),
        )
        .with_multi_valued(),
        complex(
            "ims",
            "Instant messaging addresses for the User.",
            multi_subs(
                s("value", "Instant messaging address for the User."),
                "instant messaging address",
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
        )
        .with_multi_valued(),
        complex(
            "photos",
            "URLs of photos of the User.",
            multi_subs(
                AttributeDef::new("value", AttrType::Reference, "URL of a photo of the User.").with_reference_types(&["external"]),
                "photo",
                &["photo", "thumbnail"],
            ),
        )
        .with_multi_valued(),
        complex(
            "addresses",
            "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'. This attribute is a complex type with the following sub-attributes.",
            vec![
                s(
                    "formatted",
                    "The full mailing address, formatted for display or use with a mailing label. This attribute MAY contain newlines.",
                ),
                s(
                    "streetAddress",
                    "The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information. This attribute MAY contain newlines.",
                ),
                s("locality", "The city or locality component."),
                s("region", "The state or region component."),
                s("postalCode", "The zip code or postal code component."),
                s("country", "The country name component."),
                s("type", "A label indicating the attribute's function, e.g., 'work' or 'home'.").with_canonical_values(&["work", "home", "other"]),
                AttributeDef::new(
                    "primary",
                    AttrType::Boolean,
                    "A Boolean value indicating the 'primary' or preferred address. The primary attribute value 'true' MUST appear no more than once.",
                ),
            ],
        )
        .with_multi_valued(),
        complex(
            "groups",
            "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.",
            reference_subs(
                [
                    "The identifier of the User's group.",
                    "The URI of the corresponding 'Group' resource to which the user belongs.",
                    "A human-readable name, primarily used for display purposes. READ-ONLY.",
                    "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
                ],
                &["direct", "indirect"],
                Mutability::ReadOnly,
            ),
        )
        .with_multi_valued()
        .with_mutability(Mutability::ReadOnly),
        complex(
            "entitlements",
            "A list of entitlements for the User that represent a thing the User has.",
            multi_subs(s("value", "The value of an entitlement."), "entitlement", &[]),
        )
        .with_multi_valued(),
        complex(
            "roles",
            "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
            multi_subs(s("value", "The value of a role."), "role", &[]),
        )
        .with_multi_valued(),
        complex(
            "x509Certificates",
            "A list of certificates issued to the User.",
            multi_subs(
                AttributeDef::new("value", AttrType::Binary, "The value of an X.509 certificate."),
                "certificate",
                &[],
            ),
        )
        .with_multi_valued(),
    ];
    Schema {
        id: USER_SCHEMA.to_string(),
        name: "User".to_string(),
        description: "User Account".to_string(),
        attributes,
    }
}

/// The core Group schema (RFC 7643 §4.2, §8.7.1), with scimd's product rules:
/// `displayName` is `required`, and `members` carries a `display` sub-attribute that is
/// `readOnly` (the server renders it from the member's own name).
///
/// `members.value`, `members.$ref` and `members.type` are `immutable` as in §8.7.1;
/// `members.type` has the canonical values `User` and `Group`.
pub fn group_schema() -> Schema {
    let attributes = vec![
        s("displayName", "A human-readable name for the Group. REQUIRED.")
            .with_required()
            .with_identifier(Identifier::Name),
        complex(
            "members",
            "A list of members of the Group.",
            reference_subs(
                [
                    "Identifier of the member of this Group.",
                    "The URI corresponding to a SCIM resource that is a member of this Group.",
                    "A human-readable name for the member, primarily used for display purposes. READ-ONLY.",
                    "A label indicating the type of resource, e.g., 'User' or 'Group'.",
                ],
                &["User", "Group"],
                Mutability::Immutable,
            ),
        )
        .with_multi_valued(),
    ];
    Schema {
        id: GROUP_SCHEMA.to_string(),
        name: "Group".to_string(),
        description: "Group".to_string(),
        attributes,
    }
}

/// The enterprise User extension schema (RFC 7643 §4.3, §8.7.1): `employeeNumber`,
/// `costCenter`, `organization`, `division`, `department`, and
/// `manager{value, $ref, displayName}` with `manager.displayName` `readOnly`.
pub fn enterprise_user_schema() -> Schema {
    let attributes = vec![
        s(
            "employeeNumber",
            "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.",
        ),
        s("costCenter", "Identifies the name of a cost center."),
        s("organization", "Identifies the name of an organization."),
        s("division", "Identifies the name of a division."),
        s("department", "Identifies the name of a department."),
        complex(
            "manager",
            "The User's manager. A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.",
            vec![
                s("value", "The id of the SCIM resource representing the User's manager."),
                AttributeDef::new("$ref", AttrType::Reference, "The URI of the SCIM resource representing the User's manager.")
                    .with_reference_types(&["User"]),
                s("displayName", "The displayName of the User's manager. OPTIONAL and READ-ONLY.").with_mutability(Mutability::ReadOnly),
            ],
        ),
    ];
    Schema {
        id: ENTERPRISE_USER_SCHEMA.to_string(),
        name: "EnterpriseUser".to_string(),
        description: "Enterprise User".to_string(),
        attributes,
    }
}

/// The User resource type (RFC 7643 §6): endpoint `/Users`, core [`user_schema`], the
/// enterprise extension ([`enterprise_user_schema`], `required: false`), then each of
/// `extra_extensions` (e.g. a tenant's custom-attribute extension), also `required: false`,
/// in the order given.
pub fn user_resource_schema(extra_extensions: Vec<Arc<Schema>>) -> ResourceSchema {
    let mut extensions = vec![SchemaExtension {
        schema: Arc::new(enterprise_user_schema()),
        required: false,
    }];
    extensions.extend(extra_extensions.into_iter().map(|schema| SchemaExtension {
        schema,
        required: false,
    }));
    ResourceSchema {
        name: "User".to_string(),
        endpoint: "/Users".to_string(),
        description: "User Account".to_string(),
        core: Arc::new(user_schema()),
        extensions,
    }
}

/// The Group resource type (RFC 7643 §6): endpoint `/Groups`, core [`group_schema`], no
/// extensions.
pub fn group_resource_schema() -> ResourceSchema {
    ResourceSchema {
        name: "Group".to_string(),
        endpoint: "/Groups".to_string(),
        description: "Group".to_string(),
        core: Arc::new(group_schema()),
        extensions: Vec::new(),
    }
}

/// The common attributes of every resource (RFC 7643 §3.1), which are not part of any
/// schema: `id` (string, caseExact, readOnly, returned `always`, uniqueness `server`),
/// `externalId` (string, caseExact, readWrite) and `meta` (complex, readOnly:
/// `resourceType` (caseExact), `created` and `lastModified` (dateTime), `location`
/// (reference, type `uri`), `version` (caseExact)).
pub fn common_attributes() -> &'static [AttributeDef] {
    static COMMON: std::sync::OnceLock<Vec<AttributeDef>> = std::sync::OnceLock::new();
    COMMON.get_or_init(|| {
        let ro = Mutability::ReadOnly;
        vec![
            s(
                "id",
                "Unique identifier for the SCIM resource as defined by the service provider. Issued by the service provider; not specified by the client.",
            )
            .with_case_exact()
            .with_mutability(ro)
            .with_returned(Returned::Always)
            .with_uniqueness(Uniqueness::Server),
            s("externalId", "A String that is an identifier for the resource as defined by the provisioning client.")
                .with_case_exact()
                .with_identifier(Identifier::Account),
            complex(
                "meta",
                "A complex attribute containing resource metadata.",
                vec![
                    s("resourceType", "The name of the resource type of the resource.").with_case_exact().with_mutability(ro),
                    AttributeDef::new("created", AttrType::DateTime, "The DateTime that the resource was added to the service provider.")
                        .with_mutability(ro),
                    AttributeDef::new(
                        "lastModified",
                        AttrType::DateTime,
                        "The most recent DateTime that the details of this resource were updated at the service provider.",
                    )
                    .with_mutability(ro),
                    AttributeDef::new("location", AttrType::Reference, "The URI of the resource being returned.")
                        .with_reference_types(&["uri"])
                        .with_mutability(ro),
                    s("version", "The version of the resource being returned (the ETag).").with_case_exact().with_mutability(ro),
                ],
            )
            .with_mutability(ro),
        ]
    })
}

/// The common attribute (RFC 7643 §3.1) named `name` (`id`, `externalId`, `meta`),
/// compared case-insensitively; `None` for any other name. See [`common_attributes`].
pub fn common_attribute(name: &str) -> Option<&'static AttributeDef> {
    named(common_attributes(), name)
}

impl ResourceSchema {
    /// Like [`ResourceSchema::resolve`], but also resolves the common attributes `id`,
    /// `externalId` and `meta` (and `meta.*`) of RFC 7643 §3.1 when the path is unqualified
    /// or qualified with the core schema URN. For those, `schema_urn` is the core schema's
    /// URN and `is_extension` is `false`.
    pub fn resolve_any(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        if let Some(r) = self.resolve(path) {
            return Some(r);
        }
        match &path.uri {
            None => {}
            Some(u) if u.eq_ignore_ascii_case(&self.core.id) => {}
            Some(_) => return None,
        }
        let attr = common_attribute(&path.attr)?;
        let sub = match &path.sub_attr {
            None => None,
            Some(s) => Some(attr.sub(s)?),
        };
        Some(Resolved {
            schema_urn: &self.core.id,
            is_extension: false,
            attr,
            sub,
        })
    }

    /// Whether this is the User resource type (its core schema is [`USER_SCHEMA`]).
    pub fn is_user(&self) -> bool {
        self.core.id.eq_ignore_ascii_case(USER_SCHEMA)
    }

    /// Whether this is the Group resource type (its core schema is [`GROUP_SCHEMA`]).
    pub fn is_group(&self) -> bool {
        self.core.id.eq_ignore_ascii_case(GROUP_SCHEMA)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(uri: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            uri: uri.map(str::to_string),
            attr: attr.to_string(),
            sub_attr: sub.map(str::to_string),
        }
    }

    fn names(attrs: &[AttributeDef]) -> Vec<&str> {
        attrs.iter().map(|a| a.name.as_str()).collect()
    }

    /// `schema`, once checked to have the URN `id` and exactly `attributes`, in order.
    fn checked(schema: Schema, id: &str, attributes: &[&str]) -> Schema {
        assert_eq!(schema.id, id);
        assert_eq!(names(&schema.attributes), attributes);
        schema
    }

    #[test]
    fn user_schema_has_every_rfc_attribute() {
        let u = checked(
            user_schema(),
            USER_SCHEMA,
            &[
                "userName",
                "name",
                "displayName",
                "nickName",
                "profileUrl",
                "title",
                "userType",
                "preferredLanguage",
                "locale",
                "timezone",
                "active",
                "password",
                "emails",
                "phoneNumbers",
                "ims",
                "photos",
                "addresses",
                "groups",
                "entitlements",
                "roles",
                "x509Certificates",
            ],
        );
        assert_eq!(
            names(&u.attr("name").unwrap().sub_attributes),
            [
                "formatted",
                "familyName",
                "givenName",
                "middleName",
                "honorificPrefix",
                "honorificSuffix"
            ]
        );
        assert_eq!(
            names(&u.attr("addresses").unwrap().sub_attributes),
            [
                "formatted",
                "streetAddress",
                "locality",
                "region",
                "postalCode",
                "country",
                "type",
                "primary"
            ]
        );
        for mv in [
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "entitlements",
            "roles",
            "x509Certificates",
        ] {
            let a = u.attr(mv).unwrap();
            assert!(a.multi_valued && a.ty == AttrType::Complex, "{mv}");
            assert_eq!(
                names(&a.sub_attributes),
                ["value", "display", "type", "primary"],
                "{mv}"
            );
            assert_eq!(a.sub("primary").unwrap().ty, AttrType::Boolean);
        }
        assert_eq!(
            names(&u.attr("groups").unwrap().sub_attributes),
            ["value", "$ref", "display", "type"]
        );
        assert_eq!(
            u.attr("photos").unwrap().sub("value").unwrap().ty,
            AttrType::Reference
        );
        assert_eq!(
            u.attr("x509Certificates").unwrap().sub("value").unwrap().ty,
            AttrType::Binary
        );
        assert_eq!(u.attr("profileUrl").unwrap().reference_types, ["external"]);
        assert_eq!(u.attr("active").unwrap().ty, AttrType::Boolean);
        assert_eq!(
            u.attr("phoneNumbers")
                .unwrap()
                .sub("type")
                .unwrap()
                .canonical_values,
            ["work", "home", "mobile", "fax", "pager", "other"]
        );
        assert_eq!(
            u.attr("ims")
                .unwrap()
                .sub("type")
                .unwrap()
                .canonical_values
                .len(),
            8
        );
    }

    #[test]
    fn user_schema_characteristics() {
        let u = user_schema();
        let un = u.attr("username").unwrap();
        assert!(un.required && !un.case_exact);
        assert_eq!(un.uniqueness, Uniqueness::Server);
        let pw = u.attr("password").unwrap();
        assert_eq!(
            (pw.mutability, pw.returned),
            (Mutability::WriteOnly, Returned::Never)
        );
        let g = u.attr("groups").unwrap();
        assert_eq!(g.mutability, Mutability::ReadOnly);
        assert!(g
            .sub_attributes
            .iter()
            .all(|s| s.mutability == Mutability::ReadOnly));
        assert_eq!(
            g.sub("type").unwrap().canonical_values,
            ["direct", "indirect"]
        );
        assert_eq!(g.sub("$ref").unwrap().reference_types, ["User", "Group"]);
        // Product rule: emails, name, name.givenName, name.familyName are published as required.
        assert!(u.attr("emails").unwrap().required);
        let name = u.attr("name").unwrap();
        assert!(
            name.required
                && name.sub("givenName").unwrap().required
                && name.sub("familyName").unwrap().required
        );
        assert!(!name.sub("middleName").unwrap().required);
        assert!(!u.attr("displayName").unwrap().required);
        // Everything else keeps the RFC 7643 §2.2 defaults.
        for a in &u.attributes {
            if !["userName", "password", "groups"].contains(&a.name.as_str()) {
                assert_eq!(
                    (a.mutability, a.returned),
                    (Mutability::ReadWrite, Returned::Default),
                    "{}",
                    a.name
                );
            }
            assert!(!a.case_exact, "{}", a.name);
        }
    }

    #[test]
    fn group_and_enterprise_schemas() {
        let g = checked(group_schema(), GROUP_SCHEMA, &["displayName", "members"]);
        assert!(g.attr("displayName").unwrap().required);
        let m = g.attr("members").unwrap();
        assert!(m.multi_valued);
        assert_eq!(
            names(&m.sub_attributes),
            ["value", "$ref", "display", "type"]
        );
        assert_eq!(m.sub("value").unwrap().mutability, Mutability::Immutable);
        assert_eq!(m.sub("display").unwrap().mutability, Mutability::ReadOnly);
        assert_eq!(m.sub("type").unwrap().canonical_values, ["User", "Group"]);

        let e = enterprise_user_schema();
        assert_eq!(e.id, ENTERPRISE_USER_SCHEMA);
        assert_eq!(
            names(&e.attributes),
            [
                "employeeNumber",
                "costCenter",
                "organization",
                "division",
                "department",
                "manager"
            ]
        );
        let mgr = e.attr("manager").unwrap();
        assert_eq!(names(&mgr.sub_attributes), ["value", "$ref", "displayName"]);
        assert_eq!(
            mgr.sub("displayName").unwrap().mutability,
            Mutability::ReadOnly
        );
        assert_eq!(mgr.sub("$ref").unwrap().reference_types, ["User"]);
    }

    #[test]
    fn resource_schemas_and_resolution() {
        let custom = Arc::new(Schema {
            id: "urn:example:custom:1.0:User".into(),
            name: "Custom".into(),
            description: "Custom".into(),
            attributes: vec![AttributeDef::new("badge", AttrType::String, "Badge")],
        });
        let rs = user_resource_schema(vec![custom]);
        assert_eq!((rs.name.as_str(), rs.endpoint.as_str()), ("User", "/Users"));
        assert!(rs.is_user() && !rs.is_group());
        assert_eq!(rs.extensions.len(), 2);
        assert!(!rs.extensions[0].required);
        assert_eq!(rs.schemas().count(), 3);

        let r = rs
            .resolve(&path(
                Some(ENTERPRISE_USER_SCHEMA),
                "manager",
                Some("value"),
            ))
            .unwrap();
        assert!(r.is_extension);
        assert_eq!(r.sub.unwrap().name, "value");
        assert!(rs
            .resolve(&path(Some("urn:example:custom:1.0:user"), "BADGE", None))
            .is_some());
        assert!(rs.resolve(&path(None, "id", None)).is_none());

        let id = rs.resolve_any(&path(None, "ID", None)).unwrap();
        assert_eq!(
            (id.attr.returned, id.attr.case_exact, id.is_extension),
            (Returned::Always, true, false)
        );
        let lm = rs
            .resolve_any(&path(Some(USER_SCHEMA), "meta", Some("lastModified")))
            .unwrap();
        assert_eq!(lm.sub.unwrap().ty, AttrType::DateTime);
        assert!(
            rs.resolve_any(&path(None, "externalId", None))
                .unwrap()
                .attr
                .case_exact
        );
        assert!(rs
            .resolve_any(&path(Some(ENTERPRISE_USER_SCHEMA), "id", None))
            .is_none());
        assert!(rs.resolve_any(&path(None, "meta", Some("nope"))).is_none());
        assert!(rs
            .resolve_any(&path(None, "emails", Some("value")))
            .is_some());

        let gs = group_resource_schema();
        assert!(gs.is_group() && gs.extensions.is_empty());
        assert_eq!(gs.endpoint, "/Groups");
    }

    #[test]
    fn common_attribute_lookup() {
        assert_eq!(
            common_attribute("META").unwrap().mutability,
            Mutability::ReadOnly
        );
        assert_eq!(
            common_attribute("meta")
                .unwrap()
                .sub("location")
                .unwrap()
                .ty,
            AttrType::Reference
        );
        assert!(common_attribute("userName").is_none());
        assert_eq!(
            common_attribute("externalId").unwrap().mutability,
            Mutability::ReadWrite
        );
    }
}
