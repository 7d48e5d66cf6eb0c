//! Checks on what callers send that every managed kind shares (tokens,
//! profiles, companies, subscriptions, endpoints, users): names and texts,
//! and when a new token expires.

use std::time::Duration;

use tessera_store::Timestamp;

use crate::{PersonalTokenSettings, TokenError};

/// Longest token name and description accepted, in characters.
const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1000;

pub(crate) fn checked_names(
    name: String,
    description: Option<String>,
) -> Result<(String, Option<String>), TokenError> {
    let name = checked_text("name", name, MAX_NAME_CHARS)?;
    let description = description
        .map(|text| checked_text("description", text, MAX_DESCRIPTION_CHARS))
        .transpose()?;
    Ok((name, description))
}

/// Trimmed, non-empty, at most `max` characters, no control characters.
pub(crate) fn checked_text(field: &str, text: String, max: usize) -> Result<String, TokenError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(TokenError::InvalidRequest(format!(
            "{field} must be 1 to {max} characters without control characters"
        )));
    }
    Ok(text.to_owned())
}

/// When a new token expires: from `lifetime` or `expires_at` (not both), within
/// the realm's bounds, `(default, max)`.
pub(crate) fn expiry(
    (default_lifetime, max_lifetime): (Duration, Duration),
    now: Timestamp,
    lifetime: Option<Duration>,
    expires_at: Option<Timestamp>,
) -> Result<Timestamp, TokenError> {
    let lifetime = match (lifetime, expires_at) {
        (Some(_), Some(_)) => {
            return Err(TokenError::InvalidRequest(
                "give lifetime or expires_at, not both".to_owned(),
            ))
        }
        (Some(lifetime), None) => lifetime,
        (None, Some(at)) => at.saturating_duration_since(now),
        (None, None) => default_lifetime,
    };
    if !(PersonalTokenSettings::MIN_LIFETIME..=max_lifetime).contains(&lifetime) {
        return Err(TokenError::InvalidRequest(format!(
            "lifetime must be between {} s and {} s",
            PersonalTokenSettings::MIN_LIFETIME.as_secs(),
            max_lifetime.as_secs()
        )));
    }
    Ok(now.saturating_add(lifetime))
}
