//! The revoked sessions and access tokens this verifier knows of, kept current by
//! polling the issuer's revocation feed (docs/verifying-tokens.md).

use std::collections::HashMap;
use std::sync::RwLock;

use tessera_proto::RevocationFeed;

#[derive(Debug, Default)]
struct Revoked {
    /// Session id → NumericDate until which the entry matters.
    sessions: HashMap<String, i64>,
    /// Token id → NumericDate until which the entry matters.
    tokens: HashMap<String, i64>,
}

#[derive(Debug, Default)]
pub(crate) struct RevokedSet {
    revoked: RwLock<Revoked>,
}

impl RevokedSet {
    pub(crate) fn is_revoked(&self, session_id: Option<&str>, token_id: Option<&str>) -> bool {
        let check = |revoked: &Revoked| {
            session_id.is_some_and(|sid| revoked.sessions.contains_key(sid))
                || token_id.is_some_and(|jti| revoked.tokens.contains_key(jti))
        };
        match self.revoked.read() {
            Ok(revoked) => check(&revoked),
            Err(poisoned) => check(&poisoned.into_inner()),
        }
    }

    /// Adds the feed's entries and forgets those whose tokens have all expired.
    pub(crate) fn merge(&self, feed: &RevocationFeed, now: i64) {
        let apply = |revoked: &mut Revoked| {
            for entry in &feed.revocations {
                if let Some(sid) = &entry.sid {
                    revoked.sessions.insert(sid.clone(), entry.until);
                }
                if let Some(jti) = &entry.jti {
                    revoked.tokens.insert(jti.clone(), entry.until);
                }
            }
            revoked.sessions.retain(|_, until| *until > now);
            revoked.tokens.retain(|_, until| *until > now);
        };
        match self.revoked.write() {
            Ok(mut revoked) => apply(&mut revoked),
            Err(poisoned) => apply(&mut poisoned.into_inner()),
        }
    }

    pub(crate) fn len(&self) -> usize {
        let count = |revoked: &Revoked| revoked.sessions.len() + revoked.tokens.len();
        match self.revoked.read() {
            Ok(revoked) => count(&revoked),
            Err(poisoned) => count(&poisoned.into_inner()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_proto::RevokedEntry;

    #[test]
    fn entries_are_kept_until_their_tokens_expire() {
        let set = RevokedSet::default();
        let feed = RevocationFeed {
            revocations: vec![
                RevokedEntry {
                    sid: Some("s".into()),
                    jti: None,
                    changed: None,
                    until: 100,
                },
                RevokedEntry {
                    sid: None,
                    jti: Some("j".into()),
                    changed: None,
                    until: 200,
                },
                RevokedEntry {
                    sid: None,
                    jti: None,
                    changed: None,
                    until: 300,
                },
            ],
            next_cursor: "1".into(),
            has_more: false,
        };
        set.merge(&feed, 50);
        assert!(set.is_revoked(Some("s"), None));
        assert!(set.is_revoked(Some("other"), Some("j")));
        assert!(!set.is_revoked(Some("j"), Some("s")));
        assert_eq!(set.len(), 2);
        set.merge(
            &RevocationFeed {
                revocations: vec![],
                next_cursor: "2".into(),
                has_more: false,
            },
            150,
        );
        assert!(!set.is_revoked(Some("s"), None));
        assert!(set.is_revoked(None, Some("j")));
    }
}
