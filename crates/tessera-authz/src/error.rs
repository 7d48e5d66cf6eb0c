use crate::names::{MAX_ACTION_LEN, MAX_IDENTIFIER_LEN, MAX_TYPE_LEN};

/// Why a list of grants was refused. Every message names what it refuses, so
/// that a client can fix its request (shown cut to a readable length).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("at most {max} grants are allowed")]
    TooMany { max: usize },
    #[error("resource type {0:?} is not a name of up to {MAX_TYPE_LEN} lowercase letters, digits, '-' and '_'")]
    MalformedType(String),
    #[error("unknown resource type {0:?}")]
    UnknownType(String),
    #[error("resource type {resource_type:?} has no action {action:?}")]
    UnknownAction {
        resource_type: String,
        action: String,
    },
    #[error("a {resource_type:?} grant needs an identifier: one resource's id or \"*\"")]
    MissingIdentifier { resource_type: String },
    #[error(
        "identifier {0:?} is not 1 to {MAX_IDENTIFIER_LEN} printable characters without spaces"
    )]
    MalformedIdentifier(String),
    #[error("a {resource_type:?} grant needs actions: a list of them or [\"*\"]")]
    MissingActions { resource_type: String },
    #[error("action {0:?} is not a name of up to {MAX_ACTION_LEN} letters and digits")]
    MalformedAction(String),
    #[error("\"*\" stands for every action and cannot be listed with others")]
    WildcardAmongActions,
    #[error(
        "an admin grant allows everything: it takes no identifier and no actions other than \"*\""
    )]
    ScopedAdmin,
}

/// A principal asked to grant something it does not hold itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the grant {grant} is wider than what the caller holds")]
pub struct Escalation {
    /// The first requested grant that is not covered, as `type:identifier:actions`.
    pub grant: String,
}

/// Why a realm's catalog of resource types was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("resource type {0:?} is not a name of up to {MAX_TYPE_LEN} lowercase letters, digits, '-' and '_'")]
    MalformedType(String),
    #[error("resource type {0:?} is Tessera's own and cannot be redefined")]
    Reserved(String),
    #[error("resource type {0:?} is defined twice")]
    DuplicateType(String),
    #[error("resource type {0:?} needs at least one action")]
    NoActions(String),
    #[error("action {action:?} of resource type {resource_type:?} is not a name of up to {MAX_ACTION_LEN} letters and digits")]
    MalformedAction {
        resource_type: String,
        action: String,
    },
    #[error("action {action:?} of resource type {resource_type:?} is listed twice")]
    DuplicateAction {
        resource_type: String,
        action: String,
    },
}
