//! A personal token's audit trail: its uses, recorded off the request path in
//! batches, and who created, changed or deleted it. Its words for who acted
//! and how it ended (`Audit`, `AuditActor`, `EventOutcome`, `UseOutcome`) are
//! the company audit trail's too.

use sqlx::Row;

use crate::token_uses::{recorded_use, Presentation, UseTables};
use crate::{PersonalTokenId, Store, StoreError, StoreResult, Timestamp, UserId};

/// How a use of a personal token ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseOutcome {
    /// An expose token introspected as active.
    Active,
    /// A client token's session refreshed.
    Refreshed,
    /// Refused: the token has expired.
    Expired,
    /// Refused: its user is disabled or past their validity.
    UserInactive,
    /// Refused: the caller is not in the token's audience.
    WrongAudience,
    /// Refused: the token profile is disabled.
    Disabled,
}

impl UseOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Refreshed => "refreshed",
            Self::Expired => "expired",
            Self::UserInactive => "user_inactive",
            Self::WrongAudience => "wrong_audience",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Active,
            Self::Refreshed,
            Self::Expired,
            Self::UserInactive,
            Self::WrongAudience,
            Self::Disabled,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == value)
    }

    /// Refused uses are counted on the token, not stored one event each, so a
    /// flood of them cannot grow the audit trail.
    pub fn is_refused(self) -> bool {
        !matches!(self, Self::Active | Self::Refreshed)
    }
}

/// One use of a personal token, recorded off the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub token_id: PersonalTokenId,
    pub realm: String,
    pub user_id: UserId,
    pub presentation: Presentation,
}

/// Where the uses of personal tokens are counted and recorded.
const PERSONAL_TOKEN_USES: UseTables<TokenUse> = UseTables {
    tokens: "personal_tokens",
    insert_events: "INSERT INTO token_events (token_id, realm, user_id, event, client_id, \
                    address, outcome, at) VALUES",
    event_columns: 8,
    bind_event: |query, token_use| {
        let query = query
            .bind(&token_use.token_id)
            .bind(&token_use.realm)
            .bind(&token_use.user_id)
            .bind(TokenEventKind::Used.as_str());
        token_use.presentation.bind_to(query)
    },
};

recorded_use!(TokenUse);

/// What happened to a token, in its audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEventKind {
    Created,
    Used,
    /// A token profile's name, state or permissions changed.
    Updated,
    Deleted,
}

impl TokenEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Used => "used",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Created, Self::Used, Self::Updated, Self::Deleted]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// How an event ended: a creation or deletion succeeds; a use has its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    Success,
    Use(UseOutcome),
}

impl EventOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Use(outcome) => outcome.as_str(),
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "success" => Some(Self::Success),
            other => UseOutcome::parse(other).map(Self::Use),
        }
    }
}

/// Who changed a user's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditActor {
    /// The user, through the account API.
    User,
    /// An operator of the installation, through the CLI.
    Operator,
    /// A caller of the management API: a user of a management client, or a
    /// token profile's token.
    Management,
}

impl AuditActor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Operator => "operator",
            Self::Management => "management",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::User, Self::Operator, Self::Management]
            .into_iter()
            .find(|actor| actor.as_str() == value)
    }
}

/// One entry of a token's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEvent {
    /// Increasing; pages are cut by it.
    pub id: i64,
    pub event: TokenEventKind,
    /// For `created` and `deleted`.
    pub actor: Option<AuditActor>,
    pub client_id: Option<String>,
    pub address: Option<String>,
    pub outcome: EventOutcome,
    pub at: Timestamp,
}

/// Who changed a user's tokens, and from where, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    pub actor: AuditActor,
    /// The acting user: the caller, or a token profile's owner; none for an
    /// operator. Company audit trails keep it.
    pub actor_id: Option<&'a UserId>,
    pub address: Option<&'a str>,
}

/// A `created`, `updated` or `deleted` row of `token_events` (uses are
/// inserted in bulk).
pub(crate) struct EventRow<'a> {
    /// The token, its realm and its user.
    pub(crate) token: (&'a PersonalTokenId, &'a str, &'a UserId),
    pub(crate) event: TokenEventKind,
    pub(crate) actor: AuditActor,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) address: Option<&'a str>,
    pub(crate) at: Timestamp,
}

pub(crate) async fn insert_event(
    conn: &mut sqlx::AnyConnection,
    row: EventRow<'_>,
) -> StoreResult<()> {
    let (token_id, realm, user_id) = row.token;
    sqlx::query(
        "INSERT INTO token_events (token_id, realm, user_id, event, actor, client_id, address, \
         outcome, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(token_id)
    .bind(realm)
    .bind(user_id)
    .bind(row.event.as_str())
    .bind(row.actor.as_str())
    .bind(row.client_id)
    .bind(row.address)
    .bind(EventOutcome::Success.as_str())
    .bind(row.at)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// A page of the events of one of the user's tokens (deleted ones included),
    /// newest first: at most `limit` events with an id below `before`.
    pub async fn token_events(
        &self,
        user_id: &UserId,
        token_id: &PersonalTokenId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<TokenEvent>> {
        let rows = sqlx::query(
            "SELECT id, event, actor, client_id, address, outcome, at FROM token_events \
             WHERE user_id = $1 AND token_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4",
        )
        .bind(user_id)
        .bind(token_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let event: String = row.try_get("event")?;
                let actor: Option<String> = row.try_get("actor")?;
                let outcome: String = row.try_get("outcome")?;
                Ok(TokenEvent {
                    id: row.try_get("id")?,
                    event: TokenEventKind::parse(&event)
                        .ok_or(StoreError::Corrupt("unknown token event kind"))?,
                    actor: actor
                        .map(|actor| {
                            AuditActor::parse(&actor)
                                .ok_or(StoreError::Corrupt("unknown token event actor"))
                        })
                        .transpose()?,
                    client_id: row.try_get("client_id")?,
                    address: row.try_get("address")?,
                    outcome: EventOutcome::parse(&outcome)
                        .ok_or(StoreError::Corrupt("unknown token event outcome"))?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    /// Records a batch of uses in one transaction: per token the count and
    /// the last use, and an event per accepted use.
    pub async fn record_token_uses(&self, uses: &[TokenUse]) -> StoreResult<()> {
        self.record_use_batch(&PERSONAL_TOKEN_USES, uses).await
    }
}
