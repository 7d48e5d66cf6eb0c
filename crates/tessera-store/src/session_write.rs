//! The writes on the token hot path, applied by the group committer
//! (`group_commit.rs`), which may batch several into one transaction: each must
//! be self-contained and leave nothing behind when it fails.

use crate::{
    login_attempts::{acquire_slot, release_slot},
    refresh::{
        consume_tokens, insert_families, insert_tokens, lock_live_families, supersede_live_tokens,
    },
    Family, LoginLimits, LoginOutcome, NewRefreshToken, StoreResult,
};

#[derive(Debug)]
pub(crate) enum SessionWrite {
    CreateFamily {
        family: Family,
        first_token: NewRefreshToken,
    },
    Rotate {
        digest: Vec<u8>,
        now: i64,
        replacement: NewRefreshToken,
    },
    ReplaceLiveToken {
        token: NewRefreshToken,
        now: i64,
    },
    AcquireLoginSlot {
        realm: String,
        subject: Vec<u8>,
        now: i64,
        limits: LoginLimits,
    },
    ReleaseLoginSlot {
        realm: String,
        subject: Vec<u8>,
        outcome: LoginOutcome,
        now: i64,
        limits: LoginLimits,
    },
}

impl SessionWrite {
    /// Applies the write inside the caller's transaction. Returns false when a
    /// rotation found its token already consumed or its family revoked (and
    /// wrote nothing), and as the write's own answer otherwise (see each store
    /// method).
    pub(crate) async fn apply(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<bool> {
        match self {
            Self::CreateFamily {
                family,
                first_token,
            } => {
                insert_families(&mut *conn, &[family]).await?;
                insert_tokens(conn, &[first_token]).await?;
                Ok(true)
            }
            Self::Rotate {
                digest,
                now,
                replacement,
            } => {
                let family = replacement.family_id.as_str();
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
                let family = token.family_id.as_str();
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
}
