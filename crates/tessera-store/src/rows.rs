//! Row mappings of the records that several aggregates read, in their own
//! queries and in joins: a user row read with a refresh token or a personal
//! token is mapped here, once. Kinds stored as text and read by several
//! aggregates live here too, so that no SQL spells their values by hand.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{CompanyId, StoreResult, SubscriptionId, Timestamp, UserId};

/// Role names are stored one per line; the realm loader rejects names with control characters.
pub(crate) const ROLE_SEPARATOR: char = '\n';

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub realm: String,
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Argon2 PHC string; never a plaintext password.
    pub password_hash: String,
    /// Whether the hash is of the peppered password.
    pub password_peppered: bool,
    pub enabled: bool,
    pub valid_until: Option<Timestamp>,
    pub roles: Vec<String>,
    pub created_at: Timestamp,
}

impl User {
    /// Enabled and not past `valid_until`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        Standing {
            enabled: self.enabled,
            valid_from: None,
            valid_until: self.valid_until,
        }
        .in_force(now)
    }
}

/// Whether a user or a subscription may be used: a switch and a validity
/// window, the start inclusive and the end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub enabled: bool,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
}

impl Standing {
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.enabled
            && self.valid_from.is_none_or(|from| from <= now)
            && self.valid_until.is_none_or(|until| now < until)
    }
}

pub(crate) const USER_COLUMNS: &str =
    "id, realm, username, email, first_name, last_name, password_hash, password_peppered, \
     enabled, valid_until, roles, created_at";

pub(crate) fn user_from_row(row: &AnyRow) -> StoreResult<User> {
    user_from_prefixed_row(row, "")
}

/// Reads a user whose columns carry `prefix` (as in a join that selected them
/// with [`prefixed_user_columns`]).
pub(crate) fn user_from_prefixed_row(row: &AnyRow, prefix: &str) -> StoreResult<User> {
    let column = |name: &str| format!("{prefix}{name}");
    let roles: String = row.try_get(column("roles").as_str())?;
    Ok(User {
        id: row.try_get(column("id").as_str())?,
        realm: row.try_get(column("realm").as_str())?,
        username: row.try_get(column("username").as_str())?,
        email: row.try_get(column("email").as_str())?,
        first_name: row.try_get(column("first_name").as_str())?,
        last_name: row.try_get(column("last_name").as_str())?,
        password_hash: row.try_get(column("password_hash").as_str())?,
        password_peppered: row.try_get::<i64, _>(column("password_peppered").as_str())? != 0,
        enabled: row.try_get::<i64, _>(column("enabled").as_str())? != 0,
        valid_until: row.try_get(column("valid_until").as_str())?,
        roles: roles
            .split(ROLE_SEPARATOR)
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: row.try_get(column("created_at").as_str())?,
    })
}

/// The user columns of table alias `table`, each renamed `{prefix}{column}`.
pub(crate) fn prefixed_user_columns(table: &str, prefix: &str) -> String {
    prefixed_columns(USER_COLUMNS, table, prefix)
}

/// `table.name AS {prefix}name, …` for each of `columns`, for a join that
/// reads several records from one row.
pub(crate) fn prefixed_columns(columns: &str, table: &str, prefix: &str) -> String {
    columns
        .split(", ")
        .map(|name| format!("{table}.{name} AS {prefix}{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalTokenKind {
    /// An opaque token a third party presents to an API exposing the user's data.
    Expose,
    /// An access and refresh pair for an add-on client the user picked.
    Client,
    /// An opaque token whose permissions say what it may do (a token profile).
    Profile,
}

impl PersonalTokenKind {
    /// The kinds whose token is presented as it is (stored as a digest), as
    /// opposed to a client token's session.
    pub const BEARER: [Self; 2] = [Self::Expose, Self::Profile];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expose => "expose",
            Self::Client => "client",
            Self::Profile => "profile",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "expose" => Some(Self::Expose),
            "client" => Some(Self::Client),
            "profile" => Some(Self::Profile),
            _ => None,
        }
    }
}

/// A company that buys API subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: CompanyId,
    pub realm: String,
    pub name: String,
    pub created_at: Timestamp,
}

/// A company's subscription to one API of the realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub company_id: CompanyId,
    pub name: String,
    /// The client id of the API its tokens are for.
    pub audience: String,
    /// RFC 9396 authorization details as JSON, already checked.
    pub permissions: String,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

impl Subscription {
    /// Enabled and inside its validity window: its tokens may be used.
    pub fn is_active(&self, now: Timestamp) -> bool {
        Standing {
            enabled: self.enabled,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        }
        .in_force(now)
    }
}

pub(crate) const SUBSCRIPTION_COLUMNS: &str =
    "id, company_id, name, audience, permissions, valid_from, valid_until, enabled, created_at, \
     updated_at";

/// Reads a subscription selected with [`SUBSCRIPTION_COLUMNS`].
pub(crate) fn subscription_from_row(row: &AnyRow) -> StoreResult<Subscription> {
    Ok(Subscription {
        id: row.try_get("id")?,
        company_id: row.try_get("company_id")?,
        name: row.try_get("name")?,
        audience: row.try_get("audience")?,
        permissions: row.try_get("permissions")?,
        valid_from: row.try_get("valid_from")?,
        valid_until: row.try_get("valid_until")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
