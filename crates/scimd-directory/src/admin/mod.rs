//! Administrator operations behind the admin API (`/api/v1`) and the portal: users in every
//! state, local users and groups, permanent deletes, custom attributes, tenant settings,
//! the provisioning log, the histories of users and groups, the audit record and the
//! dashboard's counts.
//!
//! They return the typed views of [`model`] (the admin API serialises them, the portal
//! renders them) and [`DirectoryError`](crate::error::DirectoryError)s: a status and a message a
//! person can act on, which the admin API renders as JSON and the portal as pages.

mod attributes;
pub mod edit;
mod groups;
pub use groups::LocalMembers;
mod log;
pub use log::RecordFilter;
pub mod model;
mod settings;
mod users;

pub use model::{
    may_delete_permanently, token_name, AdminGroup, AdminGroupPage, AdminMember, AdminUser,
    AuditEntry, AuditFilter, CustomAttribute, CustomSchema, DirectoryCounts, GroupRef, LogFilter,
    ProvisioningEntry, ReadOnly, ADMIN_MAX_PAGE, ALL_USERS_GROUP,
};
