//! Tessera's permission model, shared by the server and `tessera-verify`.
//!
//! A [`Grant`] says what may be done with resources of one type: one resource
//! or all of them (`*`), a list of actions or all of them (`*`); the `admin`
//! grant allows everything in a realm. A principal's [`Permissions`] are its
//! grants; evaluation is deny by default and looks at each grant once. The
//! [`Catalog`] names the resource types and actions a realm knows: Tessera's own
//! ([`TesseraAction`]) and those the realm file adds. On the wire grants are
//! RFC 9396 `authorization_details` ([`tessera_proto::AuthorizationDetail`]).
//!
//! Nothing here does I/O: the server checks requests with it, and a resource
//! server checks the permissions that introspection returned.

mod builtin;
mod catalog;
mod error;
mod grant;
mod names;
mod permissions;

pub use builtin::TesseraAction;
pub use catalog::{Catalog, ResourceType};
pub use error::{CatalogError, Escalation, GrantError};
pub use grant::{Actions, Grant, ResourceGrant, Resources};
pub use permissions::{Permissions, MAX_GRANTS};

/// The type of the grant that allows everything in the realm.
pub const ADMIN: &str = "admin";
