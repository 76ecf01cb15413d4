//! The change record: what one write did to one resource (or what one administrative
//! action did), as the store keeps it (table `changes`). The provisioning log, each user's
//! and group's history and the audit record are views of these rows (see the directory's
//! `changes` module for the rules that write them and `admin` for the views).
//!
//! Plain data: the vocabularies that are closed (actor types, channels, causes, member
//! kinds) are typed; outcomes, actions and resource types are the directory's words,
//! stored as text and parsed by the views.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Kind of a group member; also which of the two resource types a store call acts on
/// ([`super::Tx::delete_resource`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A user.
    User,
    /// A (nested) group.
    Group,
}

/// What kind of party made a change (`actor.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorType {
    /// A SCIM client authenticated by a bearer token (`name`: the token's name).
    Token,
    /// An OAuth client: an application presenting an access token of a configured issuer
    /// (Entra workload identity federation; `name`: `APP-ID@ISSUER`).
    Client,
    /// An administrator: a portal administrator (`name`: the username) or an admin-scope
    /// token of the admin API (`name`: the token's name).
    Admin,
    /// A product rule, as a side effect of another change (`name`: the rule's name).
    Rule,
    /// A `scimd` command run on the server (`name`: the operating-system user).
    Cli,
}

impl ActorType {
    /// Every type.
    pub const ALL: [ActorType; 5] = [
        ActorType::Token,
        ActorType::Client,
        ActorType::Admin,
        ActorType::Rule,
        ActorType::Cli,
    ];

    /// `token`, `client`, `admin`, `rule`, `cli`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::Token => "token",
            ActorType::Client => "client",
            ActorType::Admin => "admin",
            ActorType::Rule => "rule",
            ActorType::Cli => "cli",
        }
    }

    /// Parses the names of [`ActorType::as_str`].
    pub fn parse(s: &str) -> Option<ActorType> {
        ActorType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Who made a change: `{type, name}`. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The kind of party.
    pub kind: ActorType,
    /// Its name (token name, administrator username, rule name, operating-system user).
    pub name: String,
}

impl Actor {
    /// An actor of `kind` named `name`.
    pub fn new(kind: ActorType, name: impl Into<String>) -> Actor {
        Actor {
            kind,
            name: name.into(),
        }
    }
}

/// Through what a change came (`source`): the SCIM endpoints, the admin API, the portal or
/// the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `/scim/v2`.
    Scim,
    /// `/api/v1`.
    Api,
    /// The web portal.
    Portal,
    /// A `scimd` command.
    Cli,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 4] = [Channel::Scim, Channel::Api, Channel::Portal, Channel::Cli];

    /// `scim`, `api`, `portal`, `cli`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Scim => "scim",
            Channel::Api => "api",
            Channel::Portal => "portal",
            Channel::Cli => "cli",
        }
    }

    /// Parses the names of [`Channel::as_str`].
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Why a change happened: a request (method, path and, when known, the status answered), a
/// product rule (its name), or a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// An HTTP request.
    Request {
        /// `POST`, `PUT`, `PATCH`, `DELETE`.
        method: String,
        /// The path, without query string.
        path: String,
        /// The status answered; `None` for administrative actions (recorded only when they
        /// succeed, before the response is written).
        status: Option<u16>,
    },
    /// A product rule, named (see the directory's `changes::Rule`).
    Rule(String),
    /// A `scimd` command line, e.g. `scimd token create`.
    Command(String),
}

impl Cause {
    /// `request`, `rule` or `command`: how the store keeps the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Cause::Request { .. } => "request",
            Cause::Rule(_) => "rule",
            Cause::Command(_) => "command",
        }
    }
}

/// One attribute a change set: `{attribute, before, after}` with the values as stored
/// (normalised; absent is `None`). Two special forms: a group request's summary of its
/// membership changes (`attribute` `members`, `added` and `removed` counts, the members
/// themselves in per-member records), and a value removed by a permanent delete
/// (`redacted`, no values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Change {
    /// The attribute: a top-level attribute name (`name`, `emails`, `active`), an extension
    /// attribute's full name (`urn:…:enterprise:2.0:User:department`), or a directory
    /// property (`state`, `source`, `members`; settings and token properties for
    /// administrative actions).
    pub attribute: String,
    /// The value before (`None`: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The value after (`None`: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Members added (the `members` summary of a group write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<u64>,
    /// Members removed (the `members` summary of a group write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<u64>,
    /// The values were removed because the person was deleted permanently.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

impl Change {
    /// `attribute` went from `before` to `after`.
    pub fn new(
        attribute: impl Into<String>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Change {
        Change {
            attribute: attribute.into(),
            before,
            after,
            ..Change::default()
        }
    }
}

/// A member a per-member record names, and whether it was added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberChange {
    /// The member's id.
    pub id: String,
    /// User or Group.
    pub kind: MemberKind,
    /// Added (true) or removed (false).
    pub added: bool,
}

/// One change record (a row of `changes`).
///
/// - A SCIM write has one record of the request (`log`), one per member it added or removed
///   (`member`), and one per side effect of a product rule (actor type `rule`), all with
///   the request's `txn`.
/// - An administrative action (admin API, portal, command line) has one record (`audit`),
///   plus per-member and rule records as a SCIM write; a permanent delete is also a
///   provisioning-log entry (`log` and `audit`).
/// - Never a secret, a password or a hash.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    /// Sequence number, assigned by the store on insert (0 before); ascending in insertion
    /// order, never reused: a reader can follow the records by `seq`.
    pub seq: i64,
    /// Owning tenant id.
    pub tenant_id: String,
    /// The transaction: one id for every record one request or command made (UUID).
    pub txn: String,
    /// When the request or command was handled.
    pub at: OffsetDateTime,
    /// Who.
    pub actor: Actor,
    /// Through what.
    pub source: Channel,
    /// The client's address (IP), when known.
    pub address: Option<String>,
    /// Why.
    pub cause: Cause,
    /// The type of what changed: `User`, `Group`, or for administrative actions `Token`,
    /// `Attribute`, `Administrator`, `Settings`.
    pub resource_type: Option<String>,
    /// Its id, when it has one.
    pub resource_id: Option<String>,
    /// Its name (userName, displayName, token name ...), when known.
    pub resource_name: Option<String>,
    /// The member a per-member record adds or removes (`resource` is the group).
    pub member: Option<(String, MemberKind)>,
    /// What came of it: the provisioning log's outcomes (`created`, `updated`, ...,
    /// `rejected`), `member added` / `member removed`, or for administrative actions
    /// without a log outcome the action's (`succeeded`, `failed`).
    pub outcome: String,
    /// The administrative action (the audit record's `action`), for audit records.
    pub action: Option<String>,
    /// Error detail (rejected writes), or what an action did.
    pub detail: Option<String>,
    /// The attributes set, with their values before and after.
    pub changes: Vec<Change>,
    /// Warnings (ignored attributes ...).
    pub warnings: Vec<String>,
    /// How many occurrences the record stands for (coalesced failed sign-ins); 1 otherwise.
    pub count: u64,
    /// Whether it is a provisioning-log entry.
    pub log: bool,
    /// Whether it is an audit record.
    pub audit: bool,
}

impl ChangeRecord {
    /// The names of the attributes changed, in order (the log's `changedAttributes`).
    pub fn changed(&self) -> Vec<String> {
        self.changes.iter().map(|c| c.attribute.clone()).collect()
    }
}

/// Which records a query reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RecordView {
    /// The provisioning log.
    #[default]
    Log,
    /// The audit record.
    Audit,
    /// The history of one resource: the records about it and the per-member records
    /// naming it as the member.
    Resource(String),
}

/// What every view of the change records can be narrowed to: a time range, a text, a
/// transaction; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// Records at or after.
    pub since: Option<OffsetDateTime>,
    /// Records before.
    pub until: Option<OffsetDateTime>,
    /// Case-insensitive substring of the resource name or id, the path (or command), the
    /// detail, the actor's name (the log's token name) or the address.
    pub text: Option<String>,
    /// Exact transaction.
    pub txn: Option<String>,
}

/// A query of change records: a view and filters, all optional, combined with AND; newest
/// first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordQuery {
    /// Which records.
    pub view: RecordView,
    /// Time range, text, transaction.
    pub window: Window,
    /// Exact outcome.
    pub outcome: Option<String>,
    /// Exact resource type (`User`, `Group` ...).
    pub resource_type: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// Exact actor name.
    pub actor: Option<String>,
    /// Exact channel.
    pub source: Option<Channel>,
    /// Rows to skip (newest first).
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u64,
}

impl RecordQuery {
    /// The records of `view` in `window`, `limit` of them after skipping `offset`, with no
    /// other filter.
    pub fn of(view: RecordView, window: &Window, (offset, limit): (u64, u64)) -> RecordQuery {
        RecordQuery {
            view,
            window: window.clone(),
            offset,
            limit,
            ..RecordQuery::default()
        }
    }
}

/// One warning of a write to count ([`crate::store::Tx::note_warning`]): of `kind`
/// (`unknown-schema`, `normalised`; see the directory's `warnings` module) about `subject`
/// (a schema URN, an attribute), given `at` by a write of user `user_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningNote {
    /// Owning tenant id.
    pub tenant_id: String,
    /// The kind.
    pub kind: String,
    /// What it is about (at most 200 characters).
    pub subject: String,
    /// The warning's text (at most 500 characters).
    pub example: String,
    /// The user the write was about.
    pub user_id: String,
    /// When.
    pub at: OffsetDateTime,
}

/// The counts of one kind and subject of warning (a row of `warning_counts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningCount {
    /// The kind.
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// The latest warning's text.
    pub example: String,
    /// First given.
    pub first_at: OffsetDateTime,
    /// Last given.
    pub last_at: OffsetDateTime,
    /// Writes that gave it.
    pub occurrences: u64,
    /// Distinct users those writes were about.
    pub users: u64,
}
