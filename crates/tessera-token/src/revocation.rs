//! Revoking sessions and access tokens, and the revocation feed that carries each
//! revocation to resource servers verifying JWTs locally.

use std::time::Duration;

use tessera_proto::{RevocationFeed, RevokedEntry, MAX_FEED_PAGE, MAX_INTROSPECTION_CACHE_SECONDS};
use tessera_store::{
    DeletionFeed, FeedStart, RevocationReason, RevokedKind, SessionId, Timestamp, UserId,
};

use crate::service::{Core, OAuthService};
use crate::{ClientCredentials, Realm, TokenError};

/// Feed entries outlive the tokens they concern by this much, so that resource
/// servers whose clock leeway accepts a token briefly past `exp` still refuse it.
pub const FEED_LEEWAY: Duration = Duration::from_secs(60);

/// Consecutive feed windows overlap by this much. A revocation is stamped before
/// its transaction commits and nodes' clocks differ a little; the overlap makes
/// sure a poll never skips an entry committed just after the previous poll.
const FEED_OVERLAP: Duration = Duration::from_secs(30);

impl Core {
    /// Revokes one session and publishes it on the feed; false if it was unknown
    /// or already revoked.
    pub(crate) async fn revoke_session(
        &self,
        realm: &Realm,
        sid: &SessionId,
        now: Timestamp,
        reason: RevocationReason,
    ) -> Result<bool, TokenError> {
        let until = session_relevant_until(realm, now);
        Ok(self.store.revoke_family(sid, now, reason, until).await?)
    }

    /// Revokes every live session of a user, offline ones included, and puts
    /// their expose tokens on the feed.
    pub(crate) async fn revoke_user_sessions(
        &self,
        realm: &Realm,
        user_id: &UserId,
        now: Timestamp,
        reason: RevocationReason,
    ) -> Result<u64, TokenError> {
        Ok(self
            .store
            .revoke_user_tokens(user_id, now, reason, deletion_feed(realm, now))
            .await?)
    }

    /// Revokes one access token that has no session; `exp` is its `exp` claim.
    pub(crate) async fn revoke_single_access_token(
        &self,
        realm: &Realm,
        jti: &str,
        exp: i64,
        now: Timestamp,
    ) -> Result<(), TokenError> {
        let until = Timestamp::from_unix_seconds(exp).saturating_add(FEED_LEEWAY);
        Ok(self
            .store
            .revoke_access_token(&realm.name, jti, now, until)
            .await?)
    }
}

impl OAuthService {
    /// The revocation feed, for confidential clients: the sessions and access
    /// tokens revoked since `since` (a cursor from an earlier answer; `None` for
    /// everything that still matters), each until its tokens have expired, at
    /// most `limit` (default and most [`MAX_FEED_PAGE`]) per page.
    pub async fn revocation_feed(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        since: Option<&str>,
        limit: Option<&str>,
    ) -> Result<RevocationFeed, TokenError> {
        let state = self.core.realm(realm)?;
        let client = self.core.authenticate_client(&state.config, credentials)?;
        if !client.is_confidential() {
            return Err(TokenError::ConfidentialClientRequired);
        }
        let limit = match limit {
            None => MAX_FEED_PAGE,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|limit| (1..=MAX_FEED_PAGE).contains(limit))
                .ok_or_else(|| {
                    TokenError::InvalidRequest(format!(
                        "limit must be between 1 and {MAX_FEED_PAGE}"
                    ))
                })?,
        };
        let now = Timestamp::now();
        let start = match since {
            None => FeedStart::At(Timestamp::UNIX_EPOCH),
            Some(cursor) => parse_cursor(cursor, now)?,
        };
        let entries = self
            .core
            .store
            .revocations_page(realm, &start, now, limit)
            .await?;
        let has_more = entries.len() == limit;
        let next_cursor = match entries.last().filter(|_| has_more) {
            Some(last) => continuation_cursor(last.revoked_at, last.kind, &last.id),
            None => now.millis().to_string(),
        };
        let revocations = entries
            .into_iter()
            .map(|entry| {
                let (sid, jti, changed) = match entry.kind {
                    RevokedKind::Session => (Some(entry.id), None, None),
                    RevokedKind::AccessToken => (None, Some(entry.id), None),
                    RevokedKind::Changed => (None, None, Some(entry.id)),
                };
                RevokedEntry {
                    sid,
                    jti,
                    changed,
                    // A NumericDate, rounded up so the entry is never dropped early.
                    until: entry.relevant_until.unix_seconds_rounded_up(),
                }
            })
            .collect();
        Ok(RevocationFeed {
            revocations,
            next_cursor,
            has_more,
        })
    }
}

/// How long the feed entries of what is revoked at `now` matter.
/// Now, and how long the feed entries of what is deleted now matter.
pub(crate) fn deletion_now(realm: &Realm) -> (Timestamp, DeletionFeed) {
    let now = Timestamp::now();
    (now, deletion_feed(realm, now))
}

pub(crate) fn deletion_feed(realm: &Realm, now: Timestamp) -> DeletionFeed {
    let cache = Duration::from_secs(MAX_INTROSPECTION_CACHE_SECONDS);
    DeletionFeed {
        session_until: session_relevant_until(realm, now),
        expose_until: now.saturating_add(cache).saturating_add(FEED_LEEWAY),
        leeway: FEED_LEEWAY,
    }
}

/// Every access token of a session revoked at `now` expires by then (plus leeway).
pub(crate) fn session_relevant_until(realm: &Realm, now: Timestamp) -> Timestamp {
    now.saturating_add(realm.max_jwt_lifetime())
        .saturating_add(FEED_LEEWAY)
}

/// The cursor that continues right after the entry (`revoked_at`, `kind`, `id`).
pub(crate) fn continuation_cursor(revoked_at: Timestamp, kind: RevokedKind, id: &str) -> String {
    format!("{}.{}.{id}", revoked_at.millis(), kind.as_str())
}

/// Cursors are opaque to callers. `T` (the server's clock in milliseconds when
/// a poll ended) starts the next window a little before `T`; `T.kind.id` (the
/// last entry of a full page) continues right after that entry.
pub(crate) fn parse_cursor(cursor: &str, now: Timestamp) -> Result<FeedStart, TokenError> {
    let invalid = || {
        TokenError::InvalidRequest(
            "since must be a next_cursor returned by this endpoint".to_owned(),
        )
    };
    let mut parts = cursor.splitn(3, '.');
    let at = parts
        .next()
        .and_then(|text| text.parse::<i64>().ok())
        .filter(|millis| *millis >= 0)
        .map(Timestamp::from_millis)
        .ok_or_else(invalid)?;
    match (parts.next(), parts.next()) {
        (None, None) => Ok(FeedStart::At(at.min(now).saturating_sub(FEED_OVERLAP))),
        (Some(kind), Some(id)) if !id.is_empty() => Ok(FeedStart::After {
            revoked_at: at,
            kind: RevokedKind::parse(kind).ok_or_else(invalid)?,
            id: id.to_owned(),
        }),
        _ => Err(invalid()),
    }
}
