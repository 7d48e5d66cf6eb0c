//! Retention: what the purge job deletes, in small batches through indexes,
//! so that tables stop growing with use and no batch holds locks for long.

use std::collections::HashSet;

use sqlx::Row;

use crate::sql::parameter_list;
use crate::{Store, StoreResult, Timestamp};

/// Rows deleted per statement.
const PURGE_BATCH: i64 = 1000;

/// The instants before which rows are dead.
#[derive(Debug, Clone, Copy)]
pub struct RetentionCutoffs {
    pub now: Timestamp,
    /// Token and company events older than this are deleted.
    pub events_before: Timestamp,
    /// Refresh tokens consumed before this are deleted: presenting one later
    /// is refused as unknown rather than detected as reuse.
    pub consumed_before: Timestamp,
    /// Families revoked before this are deleted, with their tokens.
    pub revoked_before: Timestamp,
    /// Login-attempt rows last used before this, whose lock (if any) ended
    /// before it too, are deleted.
    pub attempts_before: Timestamp,
    /// Authorization codes and device authorizations that expired before
    /// this are deleted (a replay of a code in between still revokes).
    pub grants_expired_before: Timestamp,
}

/// The audit trails kept for the events retention period, each with an index
/// on `at`; the order of [`PurgeReport`]'s fields for them.
const EVENT_TABLES: [&str; 4] = [
    "token_events",
    "company_events",
    "endpoint_calls",
    "endpoint_events",
];

/// One-time grants, keyed by digest and indexed on `expires_at`; the order of
/// [`PurgeReport`]'s fields for them.
const GRANT_TABLES: [&str; 2] = ["authorization_codes", "device_authorizations"];

/// How many rows a purge deleted, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub expired_refresh_tokens: u64,
    pub consumed_refresh_tokens: u64,
    pub dead_families: u64,
    pub revocations: u64,
    pub token_events: u64,
    pub company_events: u64,
    pub endpoint_calls: u64,
    pub endpoint_events: u64,
    pub login_attempts: u64,
    pub browser_sessions: u64,
    pub authorization_codes: u64,
    pub device_authorizations: u64,
}

impl PurgeReport {
    pub fn total(&self) -> u64 {
        self.expired_refresh_tokens
            + self.consumed_refresh_tokens
            + self.dead_families
            + self.revocations
            + self.token_events
            + self.company_events
            + self.endpoint_calls
            + self.endpoint_events
            + self.login_attempts
            + self.browser_sessions
            + self.authorization_codes
            + self.device_authorizations
    }
}

impl Store {
    /// Deletes every dead row: expired and long-consumed refresh tokens,
    /// families that are revoked, past their end or left without tokens, feed
    /// entries that no longer matter, old token and company events and
    /// endpoint calls, idle login-attempt rows, expired authorization codes,
    /// device authorizations and browser sessions. Live rows are never touched.
    pub async fn purge(&self, cutoffs: RetentionCutoffs) -> StoreResult<PurgeReport> {
        let now = cutoffs.now;
        let mut report = PurgeReport::default();
        let mut emptied = HashSet::new();
        loop {
            let families: Vec<String> = sqlx::query(
                "DELETE FROM refresh_tokens WHERE digest IN \
                 (SELECT digest FROM refresh_tokens WHERE expires_at < $1 LIMIT $2) \
                 RETURNING family_id",
            )
            .bind(now)
            .bind(PURGE_BATCH)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get("family_id"))
            .collect::<Result<_, _>>()?;
            report.expired_refresh_tokens += families.len() as u64;
            let done = (families.len() as i64) < PURGE_BATCH;
            emptied.extend(families);
            if done {
                break;
            }
        }
        report.consumed_refresh_tokens = self
            .delete_in_batches(
                "DELETE FROM refresh_tokens WHERE digest IN \
                 (SELECT digest FROM refresh_tokens WHERE consumed_at < $1 LIMIT $2)",
                cutoffs.consumed_before,
            )
            .await?;
        // Sessions whose last token expired are over.
        let emptied: Vec<String> = emptied.into_iter().collect();
        for chunk in emptied.chunks(PURGE_BATCH as usize) {
            let sql = format!(
                "DELETE FROM refresh_families WHERE id IN ({}) AND NOT EXISTS \
                 (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id)",
                parameter_list(chunk.len(), 1)
            );
            let mut query = sqlx::query(&sql).persistent(false);
            for id in chunk {
                query = query.bind(id);
            }
            report.dead_families += query.execute(&self.pool).await?.rows_affected();
        }
        report.dead_families += self
            .delete_in_batches(
                "DELETE FROM refresh_families WHERE id IN \
                 (SELECT id FROM refresh_families WHERE revoked_at < $1 LIMIT $2)",
                cutoffs.revoked_before,
            )
            .await?;
        report.dead_families += self
            .delete_in_batches(
                "DELETE FROM refresh_families WHERE id IN \
                 (SELECT id FROM refresh_families WHERE expires_at < $1 LIMIT $2)",
                now,
            )
            .await?;
        report.revocations = self
            .delete_in_batches(
                "DELETE FROM revocations WHERE (realm, kind, id) IN \
                 (SELECT realm, kind, id FROM revocations WHERE relevant_until <= $1 LIMIT $2)",
                now,
            )
            .await?;
        let mut old_events = [0; EVENT_TABLES.len()];
        for (deleted, table) in old_events.iter_mut().zip(EVENT_TABLES) {
            let sql = format!(
                "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE at < $1 LIMIT $2)"
            );
            *deleted = self.delete_in_batches(&sql, cutoffs.events_before).await?;
        }
        [
            report.token_events,
            report.company_events,
            report.endpoint_calls,
            report.endpoint_events,
        ] = old_events;
        report.login_attempts = self
            .delete_in_batches(
                "DELETE FROM login_attempts WHERE (realm, subject) IN \
                 (SELECT realm, subject FROM login_attempts \
                  WHERE in_flight_since < $1 AND locked_until < $1 LIMIT $2)",
                cutoffs.attempts_before,
            )
            .await?;
        let mut expired_grants = [0; GRANT_TABLES.len()];
        for (deleted, table) in expired_grants.iter_mut().zip(GRANT_TABLES) {
            let sql = format!(
                "DELETE FROM {table} WHERE digest IN \
                 (SELECT digest FROM {table} WHERE expires_at < $1 LIMIT $2)"
            );
            *deleted = self
                .delete_in_batches(&sql, cutoffs.grants_expired_before)
                .await?;
        }
        [report.authorization_codes, report.device_authorizations] = expired_grants;
        // Past its absolute end a browser session signs nobody in, ended or
        // not; its codes and device authorizations go with it.
        report.browser_sessions = self
            .delete_in_batches(
                "DELETE FROM browser_sessions WHERE id IN \
                 (SELECT id FROM browser_sessions WHERE expires_at < $1 LIMIT $2)",
                now,
            )
            .await?;
        Ok(report)
    }

    /// Runs `sql` (with `$1` the cutoff and `$2` the batch size) until it
    /// deletes less than a batch; returns how many rows it deleted.
    async fn delete_in_batches(&self, sql: &str, cutoff: Timestamp) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let batch = sqlx::query(sql)
                .bind(cutoff)
                .bind(PURGE_BATCH)
                .execute(&self.pool)
                .await?
                .rows_affected();
            deleted += batch;
            if batch < PURGE_BATCH as u64 {
                return Ok(deleted);
            }
        }
    }
}
