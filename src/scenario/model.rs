//! The scenario file format: what a scenario says, as data. The loader (`loader.rs`) reads it
//! from YAML with positions; the runner executes it. A sample:
//!
//! ```yaml
//! name: entra-cisco-guide
//! description: First cycle of the Cisco Secure Access guide.
//! idp: entra
//! settings: { dialect: default, mapping: entra-default }
//! directory:
//!   users:
//!     - { id: test-user, userPrincipalName: test.user@contoso.com, displayName: Test User }
//!   groups:
//!     - { id: it-admins, displayName: IT-Admins, members: [test-user] }
//! steps:
//!   - assign: { groups: [it-admins] }
//!   - cycle: initial
//!   - expect:
//!       state: derived
//!       log:
//!         - { identity: Test User, action: Create }
//!         - { identity: IT-Admins, action: Create }
//!         - { identity: IT-Admins, action: Update }
//! ```

use crate::scim::pattern::RequestPattern;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One scenario file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short unique name, shown in reports (`entra-cisco-guide`).
    pub name: String,
    /// One line saying what the scenario shows.
    #[serde(default)]
    pub description: String,
    /// The identity provider simulated: `entra` (later `okta`, `okta-aiw`, `duo`).
    pub idp: String,
    /// Profile settings, checked by the profile (Entra: `dialect`, `mapping`, `matching`,
    /// `skip_out_of_scope_deletions`, `actions`). Every IdP also takes `in_flight` (1 to 64,
    /// default 1): how many objects of a pass it provisions at once; above 1 is inferred.
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// The IdP's own directory at the start.
    #[serde(default)]
    pub directory: Directory,
    /// What happens, in order.
    pub steps: Vec<Step>,
    /// Where the file came from and where each step starts (1-based line), set by the loader.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: Origin,
}

/// The file a scenario was read from, and the line of each step, for messages and reports.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub file: std::path::PathBuf,
    pub step_lines: Vec<u32>,
}

/// The IdP's directory: hand-written users and groups, and optionally a generated population
/// (`generate`) added after them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// A generated tenant: `{ users: 10000, groups: 100, seed: 7 }`. The loader turns it into
    /// users `user-00001`... and groups `group-001`... after the hand-written ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<Generate>,
    #[serde(default)]
    pub users: Vec<SourceUser>,
    #[serde(default)]
    pub groups: Vec<SourceGroup>,
}

/// A generated population, deterministic from `seed`: realistic names, addresses on the
/// documentation domains example.com and example.org, departments, titles, employee ids,
/// managers, and group memberships. `scimulator run --scale N` replaces `users` with N and
/// scales `groups` by the same factor.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// How many users (at most 1,000,000).
    pub users: u32,
    /// How many groups (default 0). Groups hold users only, never groups.
    #[serde(default)]
    pub groups: u32,
    /// The same seed gives the same directory (default 1).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How users are spread over the groups.
    #[serde(default)]
    pub membership: MembershipSpec,
    /// Domains of generated addresses (default: example.com and example.org, RFC 2606).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// Percent of users (after the first) with a manager, an earlier user (default 90).
    #[serde(default = "default_managers")]
    pub managers: u8,
    /// Percent of `{username}` values that are bare names (`amartinez7`), not e-mail
    /// addresses (default 10). Duo's default template uses `{username}`.
    #[serde(default = "default_non_email")]
    pub non_email_usernames: u8,
    /// Attribute templates added to, or replacing, the IdP's defaults; `null` removes one.
    /// Placeholders: `{n}`, `{given}`, `{family}`, `{login}`, `{domain}`, `{email}`,
    /// `{username}`, `{department}`, `{department_code}`, `{title}`, `{employee_id}`,
    /// `{manager}`. Entra's defaults: `userPrincipalName: "{email}"`, `mail: "{email}"`,
    /// `displayName: "{given} {family}"`, `givenName`, `surname`, `department`, `jobTitle`,
    /// `employeeId`, `manager: "{manager}"`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Put before generated ids (`eu-` gives `eu-user-00001`), to keep them apart from
    /// hand-written ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_prefix: Option<String>,
}

fn default_seed() -> u64 {
    1
}

fn default_managers() -> u8 {
    90
}

fn default_non_email() -> u8 {
    10
}

/// Group memberships of generated users.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipSpec {
    /// `[MIN, MAX]` groups per grouped user, each count equally likely (default `[1, 1]`).
    #[serde(default = "default_per_user")]
    pub per_user: [u32; 2],
    /// Group sizes: `skewed` (default: a few large groups, many small, Zipf) or `even`.
    #[serde(default)]
    pub sizes: GroupSizes,
    /// Percent of users in no group at all (default 0).
    #[serde(default)]
    pub ungrouped: u8,
}

impl Default for MembershipSpec {
    fn default() -> Self {
        MembershipSpec {
            per_user: default_per_user(),
            sizes: GroupSizes::default(),
            ungrouped: 0,
        }
    }
}

fn default_per_user() -> [u32; 2] {
    [1, 1]
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupSizes {
    /// Group k is picked with weight 1/k: "All staff"-like groups and small teams.
    #[default]
    Skewed,
    /// Every group equally likely.
    Even,
}

/// Which generated objects a step names, besides the ids it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GeneratedSet {
    Users,
    Groups,
    All,
}

/// A user of the IdP's directory: an `id` for the scenario to refer to it, and the IdP's own
/// attributes (for Entra: `userPrincipalName`, `displayName`, `givenName`, `surname`, `mail`,
/// `jobTitle`, `department`, `employeeId`, `manager` (another user's `id`), `accountEnabled`, ...).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct SourceUser {
    pub id: String,
    #[serde(flatten)]
    pub attributes: Map<String, Value>,
}

/// A group of the IdP's directory; `members` lists user ids.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct SourceGroup {
    pub id: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(flatten)]
    pub attributes: Map<String, Value>,
}

/// Users and groups a step applies to, by id.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Also every generated user, group, or both (`generated: groups`); the loader expands it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<GeneratedSet>,
}

/// One step. Each is a one-key map in YAML: `- cycle: initial`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Assign users or groups to the app (they come into scope).
    Assign(Targets),
    /// Remove assignments (users leave scope: Entra disables them).
    Unassign(Targets),
    /// Change attributes of one user or group; `null` clears an attribute.
    Update(UpdateStep),
    /// `accountEnabled: false`.
    Disable(Targets),
    /// `accountEnabled: true`.
    Enable(Targets),
    /// Move to the recycle bin (Entra `IsSoftDeleted`).
    SoftDelete(Targets),
    /// Restore from the recycle bin.
    Restore(Targets),
    /// Delete for good (users and groups).
    HardDelete(Targets),
    /// Add users to a group.
    AddMember(Membership),
    /// Remove users from a group.
    RemoveMember(Membership),
    /// Rename a group.
    RenameGroup(Rename),
    /// A new user appears in the directory (not yet assigned).
    AddUser(SourceUser),
    /// A new group appears in the directory (not yet assigned).
    AddGroup(SourceGroup),
    /// The admin clicks "Test Connection".
    TestConnection(TestConnection),
    /// One provisioning cycle.
    Cycle(CycleKind),
    /// "Restart provisioning" with a scope.
    Restart(Restart),
    /// Provision one user, or one group with its members, on demand.
    ProvisionOnDemand(OnDemand),
    /// Okta Group Push: push these groups to the app (POST, then their members).
    PushGroups(GroupList),
    /// Okta Group Push onto groups that already exist in the app (no POST; members replaced).
    LinkGroups(GroupList),
    /// Okta "Push Now": send each group's full member list again.
    PushNow(GroupList),
    /// Okta "Unlink pushed group": leave the group in the app, or delete it there.
    UnlinkGroups(Unlink),
    /// Okta import (To Okta): page through the app's users (and groups) and check the paging.
    Import(Empty),
    /// Okta's "SCIM 2.0 SPEC Test" (its Runscope export, embedded): the same 12 requests
    /// without its 60 s of pauses, each one a check, its weak assertions made strict. Needs no
    /// source directory; creates the users it needs and cleans them up.
    OktaSpecTest(Empty),
    /// RFC 7643/7644 conformance probes (`scimulator check`), by group; an empty list runs
    /// every group. Needs no source directory; deletes what it creates.
    RfcProbes(RfcProbes),
    /// Inject a fault into the requests that follow.
    Fault(Fault),
    /// Remove every fault still armed.
    ClearFaults(Empty),
    /// Check the target's state, the provisioning log, the request trace.
    Expect(Expectation),
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// Which conformance probes to run: `rfc_probes: { groups: [discovery, patch] }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RfcProbes {
    /// Empty or absent: every group.
    #[serde(default)]
    pub groups: Vec<ProbeGroup>,
}

/// A group of conformance probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeGroup {
    Discovery,
    Crud,
    Filters,
    Pagination,
    Attributes,
    Patch,
    Uniqueness,
    Errors,
    ContentTypes,
    Auth,
    Etag,
}

impl ProbeGroup {
    pub const ALL: [ProbeGroup; 11] = [
        ProbeGroup::Discovery,
        ProbeGroup::Crud,
        ProbeGroup::Filters,
        ProbeGroup::Pagination,
        ProbeGroup::Attributes,
        ProbeGroup::Patch,
        ProbeGroup::Uniqueness,
        ProbeGroup::Errors,
        ProbeGroup::ContentTypes,
        ProbeGroup::Auth,
        ProbeGroup::Etag,
    ];
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStep {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    pub set: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub group: String,
    pub users: Vec<String>,
}

/// Groups a Group Push step applies to.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupList {
    #[serde(default)]
    pub groups: Vec<String>,
    /// Also every generated group (`generated: true`); the loader expands it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generated: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unlink {
    pub groups: Vec<String>,
    /// "Delete the group in the target app" (DELETE /Groups/{id}); default: leave it there.
    #[serde(default)]
    pub delete_in_app: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub group: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestConnection {
    /// What the admin should see: `success` (default) or `failure`.
    #[serde(default)]
    pub expect: Option<Outcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CycleKind {
    /// Everything in scope is evaluated (the first cycle, or the one after a restart).
    Initial,
    /// Only what changed since the watermark, plus escrowed retries.
    Incremental,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    pub scope: RestartScope,
}

/// What a restart clears (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationjobrestartcriteria).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestartScope {
    /// The portal's "Restart provisioning": escrows, watermark, quarantine; links are kept.
    Portal,
    /// Graph `resetScope: Full`: also the connector data store, so every object is matched again.
    Full,
    Escrows,
    Watermark,
    QuarantineState,
    ConnectorDataStore,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnDemand {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    /// For a group: the members to provision with it (Entra takes up to 5).
    #[serde(default)]
    pub members: Vec<String>,
}

/// Client-side fault injection, applied to matching requests after this step.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// `METHOD /Path`, with `*` matching one path segment or the rest: `PATCH /Groups/*`.
    #[serde(rename = "match")]
    #[schemars(with = "String")]
    pub matches: RequestPattern,
    /// Only the Nth matching request (1-based).
    #[serde(default)]
    pub nth: Option<u32>,
    /// The first K matching requests (default 1; with `nth`, K requests from the Nth on).
    #[serde(default)]
    pub times: Option<u32>,
    pub effect: FaultEffect,
}

// `deny_unknown_fields` applies to the `Status` variant: `{ status: 500, retry: 3 }` is an
// error instead of a silently ignored key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum FaultEffect {
    Named(FaultKind),
    /// Answer with this status instead of sending (`429` may carry `retry_after` seconds).
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The request fails before it is sent (connection refused as the IdP sees it).
    Fail,
    /// The server gets and applies the request; the IdP never sees the answer (a timeout).
    DropResponse,
}

/// Checks at this point of the scenario.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The target's directory: `derived` (what the IdP should have left there), or overrides.
    #[serde(default)]
    pub state: Option<StateExpectation>,
    /// The provisioning log entries written since the previous `expect`, in order.
    #[serde(default)]
    pub log: Option<Vec<LogExpectation>>,
    /// The requests sent since the previous `expect`, in order: `METHOD /path` patterns.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub trace: Option<Vec<RequestPattern>>,
}

// `deny_unknown_fields` applies to `Overrides`: `{ user: {...} }` (for `users`) would otherwise
// be ignored and the expectation would check less than it says.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum StateExpectation {
    /// `derived`.
    Keyword(StateKeyword),
    /// The derived state with some objects changed: `{users: {josue: {absent: true}}}` or
    /// attribute overrides in SCIM terms: `{users: {josue: {title: CEO}}}`.
    Overrides {
        #[serde(default)]
        users: Map<String, Value>,
        #[serde(default)]
        groups: Map<String, Value>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateKeyword {
    Derived,
}

/// One expected provisioning-log line.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogExpectation {
    /// The source object's display name, as the IdP shows it.
    pub identity: String,
    /// Entra: Create, Update, Disable, Delete, Skip.
    pub action: String,
    /// Success (default), Failure, Skipped.
    #[serde(default)]
    pub status: Option<String>,
    /// The error code, when the entry failed (`EntryConflict`, `Timeout`, ...).
    #[serde(default)]
    pub error: Option<String>,
}
