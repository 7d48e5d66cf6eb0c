use serde::{Deserialize, Serialize};

/// The answer of the revocation feed
/// (`GET /realms/{realm}/protocol/openid-connect/revocations?since=CURSOR`).
///
/// Entries may repeat across polls (consecutive windows overlap so that no
/// revocation is missed); treat them as a set. Pass `next_cursor` as `since` on
/// the next poll; without `since` the feed lists every entry that still matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationFeed {
    pub revocations: Vec<RevokedEntry>,
    pub next_cursor: String,
}

/// One revoked session or access token. Exactly one of `sid` and `jti` is set by
/// Tessera; a verifier ignores entries with neither (kinds added later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedEntry {
    /// Refuse every token whose `sid` claim equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Refuse the token whose `jti` claim equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// NumericDate after which no token the entry concerns is valid anyway: the
    /// verifier may forget the entry then.
    pub until: i64,
}
