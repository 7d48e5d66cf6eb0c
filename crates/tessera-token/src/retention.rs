//! The purge job's policy: how long each kind of dead row is kept.

use std::time::Duration;

use tessera_store::{PurgeReport, RetentionCutoffs, Timestamp};

use crate::service::MaintenanceService;
use crate::TokenError;

/// A revoked family is deleted this long after its revocation, so that
/// requests already in flight find it revoked rather than unknown.
const REVOKED_FAMILY_GRACE: Duration = Duration::from_secs(60);
/// Login-attempt rows outlive the longest brute-force window or lockout by
/// this much (an attempt in flight is stale after 60 s).
const LOGIN_ATTEMPT_MARGIN: Duration = Duration::from_secs(60);
/// Expired authorization codes and device codes are kept this long, so that
/// a late replay of a code is still seen as one (and revokes its session).
const EXPIRED_GRANT_GRACE: Duration = Duration::from_secs(3600);

impl MaintenanceService {
    /// Deletes dead rows: expired refresh tokens and the sessions they ended,
    /// revoked and expired sessions, feed entries that no longer matter, and
    /// token events and consumed refresh tokens older than `retention`.
    pub async fn purge_dead_rows(&self, retention: Duration) -> Result<PurgeReport, TokenError> {
        let now = Timestamp::now();
        let longest_login_window = self
            .core
            .realms()
            .values()
            .map(|state| {
                let limits = &state.config.brute_force;
                limits.window.max(limits.lockout)
            })
            .max()
            .unwrap_or(Duration::ZERO);
        let cutoffs = RetentionCutoffs {
            now,
            events_before: now.saturating_sub(retention),
            consumed_before: now.saturating_sub(retention),
            revoked_before: now.saturating_sub(REVOKED_FAMILY_GRACE),
            attempts_before: now
                .saturating_sub(longest_login_window)
                .saturating_sub(LOGIN_ATTEMPT_MARGIN),
            grants_expired_before: now.saturating_sub(EXPIRED_GRANT_GRACE),
        };
        Ok(self.core.store.purge(cutoffs).await?)
    }
}
