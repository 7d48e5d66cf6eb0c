//! The writes on the token hot path (new sessions, rotations, grace-window
//! replacements, login slots) and the store methods that make them. The group
//! committer (`group_commit.rs`) may batch several into one transaction: each
//! must be self-contained and leave nothing behind when it fails. The SQL of
//! each table stays with its aggregate (`refresh.rs`, `login_attempts.rs`);
//! this module only composes it.

use crate::authorization_codes::consume_code;
use crate::browser_sessions::hold_live_browser_session;
use crate::device_authorizations::consume_device_authorization;
use crate::group_commit::GroupWrite;
use crate::login_attempts::{acquire_slot, release_slot, slot_refusal};
use crate::refresh::{
    consume_tokens, insert_families, insert_tokens, lock_live_families, supersede_live_tokens,
};
use crate::{
    Family, LoginLimits, LoginOutcome, LoginSlot, NewRefreshToken, SessionId, Store, StoreResult,
    Timestamp,
};

/// A one-time grant that a new session is started with.
#[derive(Debug)]
pub(crate) enum Redeemed {
    /// The digest of an authorization code.
    AuthorizationCode(Vec<u8>),
    /// The digest of an approved device code.
    DeviceAuthorization(Vec<u8>),
}

#[derive(Debug)]
pub(crate) enum SessionWrite {
    CreateFamily {
        family: Family,
        first_token: NewRefreshToken,
    },
    /// Consumes a one-time grant and starts the session it grants; nothing
    /// when it was consumed already or its browser session has ended.
    Redeem {
        grant: Redeemed,
        now: Timestamp,
        family: Family,
        first_token: NewRefreshToken,
    },
    Rotate {
        digest: Vec<u8>,
        now: Timestamp,
        replacement: NewRefreshToken,
    },
    ReplaceLiveToken {
        token: NewRefreshToken,
        now: Timestamp,
    },
    AcquireLoginSlot {
        realm: String,
        subject: Vec<u8>,
        now: Timestamp,
        limits: LoginLimits,
    },
    ReleaseLoginSlot {
        realm: String,
        subject: Vec<u8>,
        outcome: LoginOutcome,
        now: Timestamp,
        limits: LoginLimits,
    },
}

impl GroupWrite for SessionWrite {
    /// Applies the write inside the caller's transaction. Returns false when a
    /// rotation found its token already consumed or its family revoked (and
    /// wrote nothing), and as the write's own answer otherwise (see each store
    /// method).
    async fn apply(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<bool> {
        match self {
            Self::CreateFamily {
                family,
                first_token,
            } => {
                insert_families(&mut *conn, &[family]).await?;
                insert_tokens(conn, &[first_token]).await?;
                Ok(true)
            }
            Self::Redeem {
                grant,
                now,
                family,
                first_token,
            } => {
                // A grant of a browser session that has ended starts nothing.
                if let Some(session) = &family.browser_session {
                    if !hold_live_browser_session(&mut *conn, session, *now).await? {
                        return Ok(false);
                    }
                }
                let consumed = match grant {
                    Redeemed::AuthorizationCode(digest) => {
                        consume_code(&mut *conn, digest, *now, &family.id).await?
                    }
                    Redeemed::DeviceAuthorization(digest) => {
                        consume_device_authorization(&mut *conn, digest, *now).await?
                    }
                };
                if consumed {
                    insert_families(&mut *conn, &[family]).await?;
                    insert_tokens(conn, &[first_token]).await?;
                }
                Ok(consumed)
            }
            Self::Rotate {
                digest,
                now,
                replacement,
            } => {
                let family = &replacement.family_id;
                if lock_live_families(&mut *conn, &[family], *now)
                    .await?
                    .is_empty()
                {
                    return Ok(false);
                }
                let consumed = !consume_tokens(&mut *conn, &[digest], *now)
                    .await?
                    .is_empty();
                if consumed {
                    insert_tokens(conn, &[replacement]).await?;
                }
                Ok(consumed)
            }
            Self::ReplaceLiveToken { token, now } => {
                let family = &token.family_id;
                if lock_live_families(&mut *conn, &[family], *now)
                    .await?
                    .is_empty()
                {
                    return Ok(false);
                }
                supersede_live_tokens(&mut *conn, family, *now).await?;
                insert_tokens(conn, &[token]).await?;
                Ok(true)
            }
            Self::AcquireLoginSlot {
                realm,
                subject,
                now,
                limits,
            } => acquire_slot(conn, (realm, subject), *now, *limits).await,
            Self::ReleaseLoginSlot {
                realm,
                subject,
                outcome,
                now,
                limits,
            } => release_slot(conn, (realm, subject), *outcome, *now, *limits).await,
        }
    }

    /// Applies the whole batch with one statement per kind of row: insert new
    /// families, lock the live families of every rotation, consume every rotated
    /// token of a live family (`RETURNING` says which were still unconsumed:
    /// those rotations won), insert every new token.
    async fn apply_batch(
        batch: &[&Self],
        conn: &mut sqlx::AnyConnection,
    ) -> StoreResult<Vec<StoreResult<bool>>> {
        let mut families = Vec::new();
        let mut rotated_families: Vec<&SessionId> = Vec::new();
        let mut consumed_at = Timestamp::UNIX_EPOCH;
        for job in batch {
            match job {
                SessionWrite::CreateFamily { family, .. } => families.push(family),
                SessionWrite::Rotate {
                    now, replacement, ..
                } => {
                    let family = &replacement.family_id;
                    if !rotated_families.contains(&family) {
                        rotated_families.push(family);
                    }
                    consumed_at = consumed_at.max(*now);
                }
                _ => {}
            }
        }
        insert_families(&mut *conn, &families).await?;
        let live = lock_live_families(&mut *conn, &rotated_families, consumed_at).await?;
        let rotated: Vec<&[u8]> = batch
            .iter()
            .filter_map(|job| match job {
                SessionWrite::Rotate {
                    digest,
                    replacement,
                    ..
                } if live.contains(&replacement.family_id) => Some(digest.as_slice()),
                _ => None,
            })
            .collect();
        let mut unconsumed = consume_tokens(&mut *conn, &rotated, consumed_at).await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut tokens = Vec::with_capacity(batch.len());
        for job in batch {
            match job {
                SessionWrite::CreateFamily { first_token, .. } => {
                    tokens.push(first_token);
                    outcomes.push(Ok(true));
                }
                SessionWrite::Rotate {
                    digest,
                    replacement,
                    ..
                } => {
                    // The first rotation of a digest in the batch wins; a duplicate loses.
                    let won = unconsumed.remove(digest.as_slice());
                    if won {
                        tokens.push(replacement);
                    }
                    outcomes.push(Ok(won));
                }
                // Rarer writes (grace-window replays, login attempts): one statement each.
                other => outcomes.push(Ok(other.apply(&mut *conn).await?)),
            }
        }
        insert_tokens(&mut *conn, &tokens).await?;
        Ok(outcomes)
    }
}

impl Store {
    /// Applies a hot-path write through the group committer.
    async fn write_session(&self, write: SessionWrite) -> StoreResult<bool> {
        self.group_commit.submit(write).await
    }

    /// Starts a session with its first refresh token, atomically.
    pub async fn create_family(
        &self,
        family: &Family,
        first_token: &NewRefreshToken,
    ) -> StoreResult<()> {
        self.write_session(SessionWrite::CreateFamily {
            family: family.clone(),
            first_token: first_token.clone(),
        })
        .await
        .map(drop)
    }

    /// Consumes the code and starts the session it grants, atomically (through
    /// the group committer, like every new session). Returns false, and
    /// starts nothing, when the code was consumed already: of two concurrent
    /// exchanges exactly one wins.
    pub async fn redeem_authorization_code(
        &self,
        digest: &[u8],
        (now, family, first_token): (Timestamp, &Family, &NewRefreshToken),
    ) -> StoreResult<bool> {
        self.redeem_grant(
            Redeemed::AuthorizationCode(digest.to_vec()),
            (now, family, first_token),
        )
        .await
    }

    /// Consumes an approved authorization and starts the session it grants,
    /// atomically; false when another poll got it first.
    pub async fn redeem_device_authorization(
        &self,
        digest: &[u8],
        (now, family, first_token): (Timestamp, &Family, &NewRefreshToken),
    ) -> StoreResult<bool> {
        self.redeem_grant(
            Redeemed::DeviceAuthorization(digest.to_vec()),
            (now, family, first_token),
        )
        .await
    }

    /// Consumes a one-time grant and starts the session it grants, atomically;
    /// false (nothing written) when it was consumed already.
    async fn redeem_grant(
        &self,
        grant: Redeemed,
        (now, family, first_token): (Timestamp, &Family, &NewRefreshToken),
    ) -> StoreResult<bool> {
        self.write_session(SessionWrite::Redeem {
            grant,
            now,
            family: family.clone(),
            first_token: first_token.clone(),
        })
        .await
    }

    /// Marks the token consumed and stores its replacement, atomically, unless
    /// the family was revoked. Returns false
    /// (and stores nothing) when the token had already been consumed: exactly one of
    /// several concurrent rotations wins, on one node or many.
    pub async fn rotate_refresh_token(
        &self,
        digest: &[u8],
        now: Timestamp,
        replacement: &NewRefreshToken,
    ) -> StoreResult<bool> {
        self.write_session(SessionWrite::Rotate {
            digest: digest.to_vec(),
            now,
            replacement: replacement.clone(),
        })
        .await
    }

    /// Makes `token` the only live token of its family, superseding any other
    /// unconsumed one (a replay of a consumed token inside the grace window, RFC
    /// 9700 §4.14.2: a family never has two live chains). Returns false (and
    /// changes nothing) when the family has been revoked.
    pub async fn replace_live_refresh_token(
        &self,
        token: &NewRefreshToken,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.write_session(SessionWrite::ReplaceLiveToken {
            token: token.clone(),
            now,
        })
        .await
    }

    /// Takes a slot for one login attempt of `username_digest` in `realm`
    /// (the digest is keyed: the store never sees usernames of failed logins).
    /// A locked account or one whose slots are all in flight takes nothing.
    pub async fn acquire_login_slot(
        &self,
        realm: &str,
        username_digest: &[u8],
        now: Timestamp,
        limits: LoginLimits,
    ) -> StoreResult<LoginSlot> {
        let acquired = self
            .write_session(SessionWrite::AcquireLoginSlot {
                realm: realm.to_owned(),
                subject: username_digest.to_vec(),
                now,
                limits,
            })
            .await?;
        if acquired {
            return Ok(LoginSlot::Acquired);
        }
        // Refused: tell a lock from slots held by attempts in flight.
        slot_refusal(&self.pool, (realm, username_digest), now, limits).await
    }

    /// Gives back the slot of an attempt with its outcome: a failure is counted
    /// (locking the account at the limit), a success forgets counted failures.
    pub async fn release_login_slot(
        &self,
        realm: &str,
        username_digest: &[u8],
        outcome: LoginOutcome,
        now: Timestamp,
        limits: LoginLimits,
    ) -> StoreResult<()> {
        self.write_session(SessionWrite::ReleaseLoginSlot {
            realm: realm.to_owned(),
            subject: username_digest.to_vec(),
            outcome,
            now,
            limits,
        })
        .await
        .map(drop)
    }
}
