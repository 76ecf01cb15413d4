//! `scimd-directory`: the product's rules over SCIM resources — tenants, tokens, users,
//! groups, sources, soft delete, provisioning policy — and the [`store::Store`] trait that
//! storage back ends implement.
//!
//! The HTTP layer calls [`Directory`] methods, one per operation, each in one store
//! transaction:
//!
//! - SCIM operations (`users.rs`, `groups.rs`) return a [`Rendered`] resource (a write: a
//!   [`Written`] with the status it answers, also the one it logs) or a `ScimError`;
//! - administrator operations ([`admin`]) return the typed views of [`admin::model`] or a
//!   [`DirectoryError`]; portal sign-in is [`admins`], tokens and first start [`tokens`].
//!
//! A store failure reaches either error type through `?` and one mapping ([`error`]).

pub mod admin;
pub mod admins;
pub mod audit;
pub mod cache;
pub mod changes;
pub mod clients;
pub mod custom;
pub mod directory;
pub mod error;
mod groups;
pub mod hashing;
pub mod issuers;
pub mod operators;
pub mod policy;
pub mod refusals;
pub mod render;
mod schemas;
pub mod secret;
pub mod settings;
pub mod signin_throttle;
pub mod store;
pub mod tenants;
pub mod tokens;
mod users;
pub mod vocabulary;
pub mod warnings;
mod write;

pub use directory::{
    Bootstrap, Caller, Directory, GroupReply, Origin, Rendered, WriteStatus, Written,
};
pub use error::{DirectoryError, DirectoryResult};
pub use settings::TenantSettings;
pub use store::{Store, StoreError, StoreResult, Tx};
