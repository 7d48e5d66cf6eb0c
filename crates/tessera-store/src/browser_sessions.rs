//! Signed-in browsers (single sign-on): the session behind a browser's cookie,
//! found by the keyed digest of the cookie's secret.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::revocations::{revoke_families_in, Families};
use crate::rows::{prefixed_columns, prefixed_user_columns, user_from_prefixed_row};
use crate::sql::find_by_key;
use crate::{BrowserSessionId, RevocationReason, Store, StoreResult, Timestamp, User, UserId};

/// A browser's session, from sign-in to logout or expiry.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub id: BrowserSessionId,
    pub realm: String,
    pub user_id: UserId,
    /// When the user last entered their password in this browser.
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The absolute end, whatever the activity.
    pub expires_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

impl BrowserSession {
    /// Whether it still signs the browser in: not ended, not past its absolute
    /// end, and used within the last `idle`.
    pub fn is_live(&self, now: Timestamp, idle: Duration) -> bool {
        self.ended_at.is_none()
            && now < self.expires_at
            && now < self.last_seen_at.saturating_add(idle)
    }
}

/// A browser session as stored at sign-in: its secret only as a digest.
#[derive(Debug, Clone)]
pub struct NewBrowserSession {
    pub session: BrowserSession,
    pub digest: Vec<u8>,
}

pub(crate) const BROWSER_SESSION_COLUMNS: &str =
    "id, realm, user_id, auth_time, created_at, last_seen_at, expires_at, ended_at";

/// Reads a browser session selected with [`prefixed_columns`] and `prefix`.
pub(crate) fn browser_session_from_prefixed_row(
    row: &AnyRow,
    prefix: &str,
) -> StoreResult<BrowserSession> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(BrowserSession {
        id: row.try_get(column("id").as_str())?,
        realm: row.try_get(column("realm").as_str())?,
        user_id: row.try_get(column("user_id").as_str())?,
        auth_time: row.try_get(column("auth_time").as_str())?,
        created_at: row.try_get(column("created_at").as_str())?,
        last_seen_at: row.try_get(column("last_seen_at").as_str())?,
        expires_at: row.try_get(column("expires_at").as_str())?,
        ended_at: row.try_get(column("ended_at").as_str())?,
    })
}

/// The columns of a browser session (alias `b`, prefix `b_`) and of its user
/// (alias `u`, prefix `u_`), for the joins that read both.
pub(crate) fn session_and_user_columns() -> String {
    format!(
        "{}, {}",
        prefixed_columns(BROWSER_SESSION_COLUMNS, "b", "b_"),
        prefixed_user_columns("u", "u_")
    )
}

pub(crate) fn session_and_user_from_row(row: &AnyRow) -> StoreResult<(BrowserSession, User)> {
    Ok((
        browser_session_from_prefixed_row(row, "b_")?,
        user_from_prefixed_row(row, "u_")?,
    ))
}

/// Takes the browser session's row (a write, so that it orders against a
/// logout on every backend) if the session has not ended, inside the
/// caller's transaction: a session started from it afterwards is either seen
/// by the logout's revocation or refused here.
pub(crate) async fn hold_live_browser_session(
    conn: &mut sqlx::AnyConnection,
    id: &BrowserSessionId,
    now: Timestamp,
) -> StoreResult<bool> {
    let held = sqlx::query(
        "UPDATE browser_sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(held == 1)
}

impl Store {
    pub async fn create_browser_session(&self, new: &NewBrowserSession) -> StoreResult<()> {
        let session = &new.session;
        sqlx::query(
            "INSERT INTO browser_sessions (id, digest, realm, user_id, auth_time, created_at, \
             last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.id)
        .bind(&new.digest)
        .bind(&session.realm)
        .bind(&session.user_id)
        .bind(session.auth_time)
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The browser session whose cookie secret has this digest, with its user.
    pub async fn find_browser_session(
        &self,
        digest: &[u8],
    ) -> StoreResult<Option<(BrowserSession, User)>> {
        let sql = format!(
            "SELECT {} FROM browser_sessions b JOIN users u ON u.id = b.user_id \
             WHERE b.digest = $1",
            session_and_user_columns()
        );
        find_by_key(&self.pool, &sql, digest, session_and_user_from_row).await
    }

    /// Records a use of the session: its idle window starts again.
    pub async fn touch_browser_session(
        &self,
        id: &BrowserSessionId,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE browser_sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user entered their password again: the session gets a new cookie
    /// secret (the old cookie stops working) and `auth_time`. False when it
    /// had ended meanwhile.
    pub async fn reauthenticate_browser_session(
        &self,
        id: &BrowserSessionId,
        new_digest: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool> {
        let renewed = sqlx::query(
            "UPDATE browser_sessions SET digest = $1, auth_time = $2, last_seen_at = $2 \
             WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(new_digest)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(renewed == 1)
    }

    /// Ends a browser session (logout) and revokes the online sessions started
    /// from it, with their feed entries, atomically. Returns false when it had
    /// ended already.
    pub async fn end_browser_session(
        &self,
        id: &BrowserSessionId,
        now: Timestamp,
        relevant_until: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let ended = sqlx::query(
            "UPDATE browser_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        revoke_families_in(
            &mut tx,
            Families::OnlineOfBrowserSession(id),
            now,
            RevocationReason::Logout,
            relevant_until,
        )
        .await?;
        tx.commit().await?;
        Ok(ended == 1)
    }
}
