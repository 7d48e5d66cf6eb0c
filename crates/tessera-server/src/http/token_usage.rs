//! The usage counters every token view shows, in one shape for personal,
//! profile and company tokens.

use serde::Serialize;
use tessera_token::{Timestamp, TokenUsage};
use utoipa::ToSchema;

/// How much a token has been used.
#[derive(Serialize, ToSchema)]
pub(crate) struct UsageView {
    /// NumericDate (seconds) of the latest accepted use.
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    use_count: i64,
    /// Uses that were refused (expired, user inactive, another audience, a
    /// disabled profile): counted, not listed among the events.
    refused_uses: i64,
}

impl From<TokenUsage> for UsageView {
    fn from(usage: TokenUsage) -> Self {
        Self {
            last_used_at: usage.last_used_at.map(Timestamp::unix_seconds),
            last_used_ip: usage.last_used_ip,
            use_count: usage.use_count,
            refused_uses: usage.refused_uses,
        }
    }
}
