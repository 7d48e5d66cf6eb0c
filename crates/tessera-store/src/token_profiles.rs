//! Token profiles: personal tokens whose permissions their owner edits. Their
//! rows, events and deletion are the personal tokens'; what is theirs alone is
//! finding one by the id its owner chose and changing it, which publishes a
//! `changed` entry on the feed in the same transaction so that verifiers evict
//! what they cached.

use crate::personal_tokens::{lock_user, profiles_by_id};
use crate::revocations::add_token_entry;
use crate::sql::flag;
use crate::token_events::{insert_event, EventRow};
use crate::{
    Audit, PersonalToken, RevokedKind, Store, StoreResult, Timestamp, TokenEventKind, Tracked,
    UserId,
};

/// What an edit of a token profile sets; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    /// RFC 9396 authorization details as JSON, already checked.
    pub permissions: Option<String>,
}

impl Store {
    /// The owner's token profile with this id.
    pub async fn find_token_profile(
        &self,
        user_id: &UserId,
        profile_id: &str,
    ) -> StoreResult<Option<Tracked<PersonalToken>>> {
        let mut conn = self.pool.acquire().await?;
        let found = profiles_by_id(&mut conn, user_id, &[profile_id.to_owned()]).await?;
        Ok(found.into_iter().next())
    }

    /// Applies `changes` to the owner's profile, records an `updated` event and
    /// publishes a `changed` feed entry mattering until `notice_until`,
    /// atomically; returns the profile as it is now, or `None` if there is none.
    pub async fn update_token_profile(
        &self,
        (user_id, profile_id): (&UserId, &str),
        changes: &ProfileChanges,
        (now, notice_until): (Timestamp, Timestamp),
        audit: Audit<'_>,
    ) -> StoreResult<Option<Tracked<PersonalToken>>> {
        let mut tx = self.begin_write().await?;
        lock_user(&mut tx, user_id).await?;
        let updated = sqlx::query(
            "UPDATE personal_tokens SET name = COALESCE($1, name), \
             enabled = COALESCE($2, enabled), permissions = COALESCE($3, permissions), \
             updated_at = $4 WHERE user_id = $5 AND profile_id = $6",
        )
        .bind(&changes.name)
        .bind(changes.enabled.map(flag))
        .bind(&changes.permissions)
        .bind(now)
        .bind(user_id)
        .bind(profile_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(None);
        }
        let Some(profile) = profiles_by_id(&mut tx, user_id, &[profile_id.to_owned()])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let token = &profile.token;
        add_token_entry(
            &mut tx,
            RevokedKind::Changed,
            (&token.realm, token.id.as_str()),
            now,
            notice_until,
        )
        .await?;
        insert_event(
            &mut tx,
            EventRow {
                token: (&token.id, &token.realm, &token.user_id),
                event: TokenEventKind::Updated,
                actor: audit.actor,
                client_id: None,
                address: audit.address,
                at: now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(profile))
    }
}
