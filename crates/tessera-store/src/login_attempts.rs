//! Brute-force counting: login attempts per (realm, keyed digest of the
//! username), for known and unknown usernames alike.
//!
//! An attempt takes a slot *before* its password is checked and gives it back
//! with the outcome. Slots held by attempts in flight and failures counted in
//! the window together never exceed the realm's limit, so any number of
//! concurrent guesses cannot get past it; a correct password is never refused
//! because other attempts were in flight, it waits for a slot instead
//! ([`LoginSlot::Busy`]).

use std::time::Duration;

use sqlx::Row;

use crate::time::duration_millis;
use crate::{StoreResult, Timestamp};

/// Brute-force limits of a realm.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub max_failures: i64,
    pub window: Duration,
    pub lockout: Duration,
}

/// An attempt still in flight after this long was abandoned by a node that
/// stopped (a crash): its slot is free again.
const STALE_IN_FLIGHT: Duration = Duration::from_secs(60);

/// `locked_until` of an account that is not locked (the SQL writes 0).
const NOT_LOCKED: Timestamp = Timestamp::UNIX_EPOCH;

/// What [`Store::acquire_login_slot`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSlot {
    /// The attempt holds a slot: check the password, then release it.
    Acquired,
    /// Too many failures: the account is locked; nothing was counted.
    Locked,
    /// Every free slot is held by attempts in flight; try again shortly.
    Busy,
}

/// How an attempt that held a slot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password was right: counted failures are forgotten.
    Succeeded,
    /// The password was wrong (or the user unknown): one more failure.
    Failed,
    /// The caller went away before the password was checked to the end.
    Abandoned,
}

/// The counted failures start again when the window has passed or a lock ran out.
const FRESH_WINDOW: &str = "(login_attempts.failures_since + $5 < $3 \
     OR (login_attempts.locked_until <> 0 AND login_attempts.locked_until <= $3))";
const STALE: &str = "(login_attempts.in_flight_since + $6 < $3)";

pub(crate) async fn acquire_slot(
    conn: &mut sqlx::AnyConnection,
    (realm, subject): (&str, &[u8]),
    now: Timestamp,
    limits: LoginLimits,
) -> StoreResult<bool> {
    let sql = format!(
        "INSERT INTO login_attempts (realm, subject, failures, failures_since, locked_until, \
           in_flight, in_flight_since) VALUES ($1, $2, 0, $3, 0, 1, $3) \
         ON CONFLICT (realm, subject) DO UPDATE SET \
           failures = CASE WHEN {FRESH_WINDOW} THEN 0 ELSE login_attempts.failures END, \
           failures_since = CASE WHEN {FRESH_WINDOW} THEN $3 \
             ELSE login_attempts.failures_since END, \
           locked_until = CASE WHEN {FRESH_WINDOW} THEN 0 ELSE login_attempts.locked_until END, \
           in_flight = CASE WHEN {STALE} THEN 1 ELSE login_attempts.in_flight + 1 END, \
           in_flight_since = $3 \
         WHERE login_attempts.locked_until <= $3 \
           AND (CASE WHEN {FRESH_WINDOW} THEN 0 ELSE login_attempts.failures END) \
             + (CASE WHEN {STALE} THEN 0 ELSE login_attempts.in_flight END) < $4"
    );
    let result = sqlx::query(&sql)
        .bind(realm)
        .bind(subject)
        .bind(now)
        .bind(limits.max_failures)
        .bind(duration_millis(limits.window))
        .bind(duration_millis(STALE_IN_FLIGHT))
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn release_slot(
    conn: &mut sqlx::AnyConnection,
    (realm, subject): (&str, &[u8]),
    outcome: LoginOutcome,
    now: Timestamp,
    limits: LoginLimits,
) -> StoreResult<bool> {
    let query = match outcome {
        LoginOutcome::Succeeded => sqlx::query(
            "UPDATE login_attempts SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 \
             ELSE 0 END, failures = 0, failures_since = $3, locked_until = 0 \
             WHERE realm = $1 AND subject = $2",
        )
        .bind(realm)
        .bind(subject)
        .bind(now),
        LoginOutcome::Failed => sqlx::query(
            "UPDATE login_attempts SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 \
             ELSE 0 END, failures = failures + 1, \
             locked_until = CASE WHEN failures + 1 >= $3 THEN $4 ELSE locked_until END \
             WHERE realm = $1 AND subject = $2",
        )
        .bind(realm)
        .bind(subject)
        .bind(limits.max_failures)
        .bind(now.saturating_add(limits.lockout)),
        LoginOutcome::Abandoned => sqlx::query(
            "UPDATE login_attempts SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 \
             ELSE 0 END WHERE realm = $1 AND subject = $2",
        )
        .bind(realm)
        .bind(subject),
    };
    Ok(query.execute(conn).await?.rows_affected() == 1)
}

/// Why an attempt was refused a slot: a lock, or slots all held by attempts in
/// flight.
pub(crate) async fn slot_refusal(
    pool: &sqlx::AnyPool,
    (realm, subject): (&str, &[u8]),
    now: Timestamp,
    limits: LoginLimits,
) -> StoreResult<LoginSlot> {
    let row = sqlx::query(
        "SELECT failures, failures_since, locked_until FROM login_attempts \
         WHERE realm = $1 AND subject = $2",
    )
    .bind(realm)
    .bind(subject)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(LoginSlot::Busy);
    };
    let failures: i64 = row.try_get("failures")?;
    let since: Timestamp = row.try_get("failures_since")?;
    let locked_until: Timestamp = row.try_get("locked_until")?;
    let fresh = since.saturating_add(limits.window) < now
        || (locked_until != NOT_LOCKED && locked_until <= now);
    let locked = locked_until > now || (!fresh && failures >= limits.max_failures);
    Ok(if locked {
        LoginSlot::Locked
    } else {
        LoginSlot::Busy
    })
}
