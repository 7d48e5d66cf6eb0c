use serde::{Deserialize, Serialize};

/// The answer of the revocation feed
/// (`GET /realms/{realm}/protocol/openid-connect/revocations?since=CURSOR`).
///
/// Entries may repeat across polls (consecutive windows overlap so that no
/// revocation is missed); treat them as a set. Pass `next_cursor` as `since` on
/// the next poll; without `since` the feed lists every entry that still matters.
/// A page holds at most [`MAX_FEED_PAGE`] entries: when `has_more` is true, ask
/// again at once with `next_cursor` for the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationFeed {
    pub revocations: Vec<RevokedEntry>,
    pub next_cursor: String,
    /// More entries follow right after this page.
    #[serde(default)]
    pub has_more: bool,
}

/// The most entries one page of the feed carries (and the default `limit`).
pub const MAX_FEED_PAGE: usize = 1000;

/// The longest a verifier may cache an "active" introspection answer. An expose
/// token's feed entry (it was deleted or its user disabled) must outlive every
/// cached answer, so it is kept this long plus the verifiers' clock leeway.
pub const MAX_INTROSPECTION_CACHE_SECONDS: u64 = 300;

/// One revoked session or access token, or a changed token. Exactly one of
/// `sid`, `jti` and `changed` is set by Tessera; a verifier ignores entries with
/// none it knows (kinds added later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedEntry {
    /// Refuse every token whose `sid` claim equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Refuse the token whose `jti` claim equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The token whose `jti` equals this still counts, but what introspection
    /// says of it has changed (a token profile's permissions were edited, or it
    /// was disabled or enabled): forget any cached answer for it and ask again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<String>,
    /// NumericDate after which no token the entry concerns is valid anyway: the
    /// verifier may forget the entry then.
    pub until: i64,
}
