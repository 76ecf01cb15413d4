//! `scimd-directory`: the product's rules over SCIM resources — tenants, tokens, users,
//! groups, sources, soft delete, provisioning policy — and the [`store::Store`] trait that
//! storage back ends implement.
//!
//! The HTTP layer calls [`Directory`] methods, one per SCIM operation; each runs in one
//! store transaction and returns either a [`Rendered`] resource or a `ScimError`.

pub mod admin;
pub mod admins;
pub mod audit;
pub mod custom;
pub mod directory;
pub mod error;
mod groups;
pub mod policy;
pub mod render;
mod schemas;
pub mod secret;
pub mod settings;
pub mod store;
pub mod tokens;
mod users;
mod write;

pub use directory::{Bootstrap, Caller, Directory, GroupReply, Rendered, WriteStatus, Written};
pub use error::{DirectoryError, DirectoryResult};
pub use settings::TenantSettings;
pub use store::{Store, StoreError, StoreResult, Tx};
