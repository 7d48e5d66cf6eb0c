//! Personal access tokens: their rows, creation within the realm's limits, and
//! deletion (which also revokes what they grant and publishes it on the
//! revocation feed). Their audit trail is `token_events`.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::revocations::{add_token_entry, revoke_families_in, DeletionFeed, Families};
use crate::rows::{prefixed_user_columns, user_from_prefixed_row, PersonalTokenKind};
use crate::sql::{all_by_key, find_by_keys, flag, parameter_list};
use crate::token_events::{insert_event, Audit, EventRow, TokenEventKind};
use crate::token_uses::{TokenUsage, Tracked};
use crate::{
    PersonalTokenId, RevocationReason, RevokedKind, SessionId, Store, StoreError, StoreResult,
    Timestamp, User, UserId,
};

/// A personal token about to be stored.
#[derive(Debug, Clone)]
pub struct NewPersonalToken {
    pub token: PersonalToken,
    /// Keyed digest of an expose token or token profile; the token itself
    /// never reaches the store.
    pub digest: Option<Vec<u8>>,
}

/// What only a token profile has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFields {
    /// Chosen by the owner; unique among the owner's profiles.
    pub profile_id: String,
    /// A disabled profile's token is refused until it is enabled again.
    pub enabled: bool,
    /// RFC 9396 authorization details as JSON, checked by the service before
    /// they are written.
    pub permissions: String,
    pub updated_at: Option<Timestamp>,
}

/// A personal token as stored, never with its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalToken {
    pub id: PersonalTokenId,
    pub realm: String,
    pub user_id: UserId,
    pub kind: PersonalTokenKind,
    pub name: String,
    pub description: Option<String>,
    /// Expose tokens: the clients that may accept it; empty for client
    /// tokens, and for expose tokens stored before audiences were (the
    /// realm's `expose_audience` then).
    pub audience: Vec<String>,
    /// A recognisable, non-secret fragment: prefix and last four characters.
    pub hint: String,
    /// The session of a client token.
    pub family_id: Option<SessionId>,
    pub client_id: Option<String>,
    pub offline: bool,
    pub scope: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub profile: Option<ProfileFields>,
}

/// Client ids in `personal_tokens.audience` are stored one per line.
const AUDIENCE_SEPARATOR: &str = "\n";

const TOKEN_COLUMNS: &str =
    "p.id, p.realm, p.user_id, p.kind, p.name, p.description, p.audience, p.hint, \
     p.family_id, p.client_id, p.offline, p.scope, p.created_at, p.expires_at, \
     p.last_used_at, p.last_used_ip, p.use_count, p.refused_uses, p.profile_id, p.enabled, \
     p.permissions, p.updated_at";

fn token_from_row(row: &AnyRow) -> StoreResult<Tracked<PersonalToken>> {
    let kind: String = row.try_get("kind")?;
    let kind = PersonalTokenKind::parse(&kind)
        .ok_or(StoreError::Corrupt("unknown personal token kind"))?;
    let profile = match kind {
        PersonalTokenKind::Profile => Some(ProfileFields {
            profile_id: row
                .try_get::<Option<String>, _>("profile_id")?
                .ok_or(StoreError::Corrupt("a token profile without its id"))?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            permissions: row.try_get("permissions")?,
            updated_at: row.try_get("updated_at")?,
        }),
        PersonalTokenKind::Expose | PersonalTokenKind::Client => None,
    };
    let token = PersonalToken {
        id: row.try_get("id")?,
        realm: row.try_get("realm")?,
        user_id: row.try_get("user_id")?,
        kind,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        audience: row
            .try_get::<String, _>("audience")?
            .split(AUDIENCE_SEPARATOR)
            .filter(|aud| !aud.is_empty())
            .map(str::to_owned)
            .collect(),
        hint: row.try_get("hint")?,
        family_id: row.try_get("family_id")?,
        client_id: row.try_get("client_id")?,
        offline: row.try_get::<i64, _>("offline")? != 0,
        scope: row.try_get("scope")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        profile,
    };
    Ok(Tracked {
        token,
        usage: TokenUsage::from_row(row)?,
    })
}

/// How storing a new personal token ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    Stored,
    /// The user holds as many tokens as the realm allows.
    LimitReached,
    /// The user already has a token profile with this id.
    DuplicateProfileId,
}

/// Which of a user's personal tokens an operation concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSelection<'a> {
    /// The token with this id.
    One(&'a PersonalTokenId),
    /// Every token of the user.
    All,
    /// The user's token profiles with these ids: all of them or none.
    Profiles(&'a [String]),
}

/// Serialises the user's token changes (limits, unique profile ids): the row
/// lock on PostgreSQL; on SQLite the write transaction holds the database's
/// write lock from its start already (see `begin_write`).
pub(crate) async fn lock_user(conn: &mut sqlx::AnyConnection, user_id: &UserId) -> StoreResult<()> {
    sqlx::query("UPDATE users SET id = id WHERE id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn held_tokens(conn: &mut sqlx::AnyConnection, user_id: &UserId) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM personal_tokens WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get("n")?)
}

/// The owner's token profiles with these ids, in the caller's transaction.
pub(crate) async fn profiles_by_id(
    conn: &mut sqlx::AnyConnection,
    user_id: &UserId,
    profile_ids: &[String],
) -> StoreResult<Vec<Tracked<PersonalToken>>> {
    if profile_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM personal_tokens p WHERE p.user_id = $1 \
         AND p.profile_id IN ({})",
        parameter_list(profile_ids.len(), 2)
    );
    let mut query = sqlx::query(&sql).bind(user_id);
    for profile_id in profile_ids {
        query = query.bind(profile_id);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(token_from_row).collect()
}

impl Store {
    /// How many personal tokens the user holds.
    pub async fn count_personal_tokens(&self, user_id: &UserId) -> StoreResult<i64> {
        let mut conn = self.pool.acquire().await?;
        held_tokens(&mut conn, user_id).await
    }

    /// Stores a new token and its `created` event unless the user already holds
    /// `limit` tokens or, for a token profile, one with the same profile id;
    /// stores nothing otherwise.
    pub async fn insert_personal_token(
        &self,
        new: &NewPersonalToken,
        limit: i64,
        audit: Audit<'_>,
    ) -> StoreResult<Insertion> {
        let token = &new.token;
        let mut tx = self.begin_write().await?;
        // Concurrent creations cannot both slip under the limit, nor both take
        // one profile id.
        lock_user(&mut tx, &token.user_id).await?;
        if held_tokens(&mut tx, &token.user_id).await? >= limit {
            return Ok(Insertion::LimitReached);
        }
        let profile = token.profile.as_ref();
        if let Some(profile) = profile {
            let taken = sqlx::query(
                "SELECT 1 AS taken FROM personal_tokens WHERE user_id = $1 AND profile_id = $2",
            )
            .bind(&token.user_id)
            .bind(&profile.profile_id)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                return Ok(Insertion::DuplicateProfileId);
            }
        }
        sqlx::query(
            "INSERT INTO personal_tokens (id, realm, user_id, kind, name, description, digest, \
             hint, family_id, client_id, offline, scope, created_at, expires_at, audience, \
             profile_id, enabled, permissions) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(&token.id)
        .bind(&token.realm)
        .bind(&token.user_id)
        .bind(token.kind.as_str())
        .bind(&token.name)
        .bind(&token.description)
        .bind(&new.digest)
        .bind(&token.hint)
        .bind(&token.family_id)
        .bind(&token.client_id)
        .bind(flag(token.offline))
        .bind(&token.scope)
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.audience.join(AUDIENCE_SEPARATOR))
        .bind(profile.map(|profile| profile.profile_id.as_str()))
        .bind(flag(profile.is_none_or(|profile| profile.enabled)))
        .bind(profile.map_or("", |profile| profile.permissions.as_str()))
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            EventRow {
                token: (&token.id, &token.realm, &token.user_id),
                event: TokenEventKind::Created,
                actor: audit.actor,
                client_id: token.client_id.as_deref(),
                address: audit.address,
                at: token.created_at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Insertion::Stored)
    }

    /// The user's tokens, newest first.
    pub async fn list_personal_tokens(
        &self,
        user_id: &UserId,
    ) -> StoreResult<Vec<Tracked<PersonalToken>>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM personal_tokens p WHERE p.user_id = $1 \
             ORDER BY p.created_at DESC, p.id"
        );
        all_by_key(&self.pool, &sql, user_id, token_from_row).await
    }

    /// An expose token or a token profile of `realm` by its digest, with its
    /// user, in one query.
    pub async fn find_bearer_token(
        &self,
        realm: &str,
        digest: &[u8],
    ) -> StoreResult<Option<(Tracked<PersonalToken>, User)>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS}, {} FROM personal_tokens p \
             JOIN users u ON u.id = p.user_id WHERE p.digest = $1 AND p.realm = $2",
            prefixed_user_columns("u", "u_")
        );
        find_by_keys(&self.pool, &sql, (digest, realm), |row| {
            Ok((token_from_row(row)?, user_from_prefixed_row(row, "u_")?))
        })
        .await
    }

    /// Deletes one of the user's tokens or all of them,
    /// revokes the sessions of client tokens, publishes everything on the
    /// revocation feed and records `deleted` events, atomically. Returns what was
    /// deleted.
    pub async fn delete_personal_tokens(
        &self,
        user_id: &UserId,
        selection: TokenSelection<'_>,
        now: Timestamp,
        feed: DeletionFeed,
        audit: Audit<'_>,
    ) -> StoreResult<Vec<Tracked<PersonalToken>>> {
        let mut tx = self.begin_write().await?;
        lock_user(&mut tx, user_id).await?;
        let deleted: Vec<Tracked<PersonalToken>> = match selection {
            TokenSelection::One(id) => {
                let select = format!(
                    "SELECT {TOKEN_COLUMNS} FROM personal_tokens p WHERE p.user_id = $1 AND p.id = $2"
                );
                let rows = sqlx::query(&select)
                    .bind(user_id)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                rows.iter()
                    .map(token_from_row)
                    .collect::<StoreResult<_>>()?
            }
            TokenSelection::All => {
                let select =
                    format!("SELECT {TOKEN_COLUMNS} FROM personal_tokens p WHERE p.user_id = $1");
                let rows = sqlx::query(&select)
                    .bind(user_id)
                    .fetch_all(&mut *tx)
                    .await?;
                rows.iter()
                    .map(token_from_row)
                    .collect::<StoreResult<_>>()?
            }
            TokenSelection::Profiles(profile_ids) => {
                let found = profiles_by_id(&mut tx, user_id, profile_ids).await?;
                if found.len() != profile_ids.len() {
                    // All or none: the transaction is dropped, nothing changes.
                    return Ok(Vec::new());
                }
                found
            }
        };
        for Tracked { token, .. } in &deleted {
            sqlx::query("DELETE FROM personal_tokens WHERE id = $1")
                .bind(&token.id)
                .execute(&mut *tx)
                .await?;
            match (&token.family_id, token.kind) {
                (Some(family), PersonalTokenKind::Client) => {
                    revoke_families_in(
                        &mut tx,
                        Families::One(family),
                        now,
                        RevocationReason::Revoked,
                        feed.session_until,
                    )
                    .await?;
                }
                _ => {
                    add_token_entry(
                        &mut tx,
                        RevokedKind::AccessToken,
                        (&token.realm, token.id.as_str()),
                        now,
                        feed.expose_entry_until(token.expires_at),
                    )
                    .await?;
                }
            }
            insert_event(
                &mut tx,
                EventRow {
                    token: (&token.id, &token.realm, &token.user_id),
                    event: TokenEventKind::Deleted,
                    actor: audit.actor,
                    client_id: token.client_id.as_deref(),
                    address: audit.address,
                    at: now,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}
