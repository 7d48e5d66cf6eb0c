//! Device authorizations (RFC 8628): a device code the device polls with, and
//! a user code its user enters on the verification page to approve or deny.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::browser_sessions::{
    session_and_user_columns, session_and_user_from_row, BrowserSession,
};
use crate::sql::{find_by_key, find_by_keys};
use crate::{BrowserSessionId, Store, StoreError, StoreResult, Timestamp, User};

/// What the user said on the verification page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceDecision {
    Approved,
    Denied,
}

impl DeviceDecision {
    fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "approved" => Some(Self::Approved),
            "denied" => Some(Self::Denied),
            _ => None,
        }
    }
}

/// A device authorization as started; both codes only as keyed digests.
#[derive(Debug, Clone)]
pub struct NewDeviceAuthorization {
    pub digest: Vec<u8>,
    pub realm: String,
    pub user_code_digest: Vec<u8>,
    pub client_id: String,
    pub scope: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// How long the device must wait between polls (RFC 8628 §3.5).
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub request: NewDeviceAuthorization,
    pub last_polled_at: Option<Timestamp>,
    pub decision: Option<DeviceDecision>,
    pub consumed_at: Option<Timestamp>,
    /// The browser session (and its user) that decided, once one did.
    pub decided_by: Option<(BrowserSession, User)>,
}

fn device_authorization_from_row(row: &AnyRow) -> StoreResult<DeviceAuthorization> {
    let decision: Option<String> = row.try_get("decision")?;
    let decision = decision
        .map(|value| DeviceDecision::parse(&value).ok_or(StoreError::Corrupt("device decision")))
        .transpose()?;
    let decided_by: Option<BrowserSessionId> = row.try_get("b_id")?;
    let interval: i64 = row.try_get("interval_seconds")?;
    Ok(DeviceAuthorization {
        request: NewDeviceAuthorization {
            digest: row.try_get("digest")?,
            realm: row.try_get("realm")?,
            user_code_digest: row.try_get("user_code_digest")?,
            client_id: row.try_get("client_id")?,
            scope: row.try_get("scope")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            interval: Duration::from_secs(u64::try_from(interval).unwrap_or(0)),
        },
        last_polled_at: row.try_get("last_polled_at")?,
        decision,
        consumed_at: row.try_get("consumed_at")?,
        decided_by: decided_by
            .map(|_| session_and_user_from_row(row))
            .transpose()?,
    })
}

/// `condition` on `device_authorizations d`, its parameters from `$1`.
fn select_device_authorization(condition: &str) -> String {
    format!(
        "SELECT d.digest, d.realm, d.user_code_digest, d.client_id, d.scope, d.created_at, \
         d.expires_at, d.interval_seconds, d.last_polled_at, d.decision, d.consumed_at, {} \
         FROM device_authorizations d \
         LEFT JOIN browser_sessions b ON b.id = d.browser_session_id \
         LEFT JOIN users u ON u.id = b.user_id WHERE {condition}",
        session_and_user_columns()
    )
}

impl Store {
    /// Stores a new device authorization; false (nothing stored) when its
    /// user code is already in use in the realm.
    pub async fn insert_device_authorization(
        &self,
        new: &NewDeviceAuthorization,
    ) -> StoreResult<bool> {
        let interval = i64::try_from(new.interval.as_secs()).unwrap_or(i64::MAX);
        let inserted = sqlx::query(
            "INSERT INTO device_authorizations (digest, realm, user_code_digest, client_id, \
             scope, created_at, expires_at, interval_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(&new.digest)
        .bind(&new.realm)
        .bind(&new.user_code_digest)
        .bind(&new.client_id)
        .bind(&new.scope)
        .bind(new.created_at)
        .bind(new.expires_at)
        .bind(interval)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// The device authorization of a device code's digest.
    pub async fn find_device_authorization(
        &self,
        digest: &[u8],
    ) -> StoreResult<Option<DeviceAuthorization>> {
        let sql = select_device_authorization("d.digest = $1");
        find_by_key(&self.pool, &sql, digest, device_authorization_from_row).await
    }

    /// The device authorization of a user code's digest in `realm`.
    pub async fn find_device_authorization_by_user_code(
        &self,
        realm: &str,
        user_code_digest: &[u8],
    ) -> StoreResult<Option<DeviceAuthorization>> {
        let sql = select_device_authorization("d.realm = $1 AND d.user_code_digest = $2");
        let keys = (realm, user_code_digest);
        find_by_keys(&self.pool, &sql, keys, device_authorization_from_row).await
    }

    /// Records the user's decision, made in `session`; false when the
    /// authorization had been decided already or has expired.
    pub async fn decide_device_authorization(
        &self,
        (realm, user_code_digest): (&str, &[u8]),
        decision: DeviceDecision,
        session: &BrowserSessionId,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let decided = sqlx::query(
            "UPDATE device_authorizations SET decision = $1, browser_session_id = $2, \
             decided_at = $3 WHERE realm = $4 AND user_code_digest = $5 \
             AND decision IS NULL AND expires_at > $3",
        )
        .bind(decision.as_str())
        .bind(session)
        .bind(now)
        .bind(realm)
        .bind(user_code_digest)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(decided == 1)
    }

    /// Records a poll, and the interval every later poll must keep.
    pub async fn record_device_poll(
        &self,
        digest: &[u8],
        now: Timestamp,
        interval: Duration,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE device_authorizations SET last_polled_at = $1, interval_seconds = $2 \
             WHERE digest = $3",
        )
        .bind(now)
        .bind(i64::try_from(interval.as_secs()).unwrap_or(i64::MAX))
        .bind(digest)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Marks an approved authorization consumed, inside the caller's
/// transaction; false when it was consumed already.
pub(crate) async fn consume_device_authorization(
    conn: &mut sqlx::AnyConnection,
    digest: &[u8],
    now: Timestamp,
) -> StoreResult<bool> {
    let consumed = sqlx::query(
        "UPDATE device_authorizations SET consumed_at = $1 \
         WHERE digest = $2 AND consumed_at IS NULL AND decision = $3",
    )
    .bind(now)
    .bind(digest)
    .bind(DeviceDecision::Approved.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(consumed == 1)
}
