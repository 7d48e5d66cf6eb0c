//! Checking a user's password: the bounded hashing queue, brute-force slots per
//! username, and the same work for known, unknown and locked usernames.

use std::time::Duration;

use tessera_proto::SecretString;
use tessera_store::{LoginLimits, LoginOutcome, LoginSlot, Store, Timestamp, User};
use tokio::time::Instant;

use crate::password::{StoredPassword, MAX_PASSWORD_BYTES};
use crate::service::Core;
use crate::{Realm, TokenError};

/// How long an attempt waits for a brute-force slot held by attempts in flight
/// before it is told to come back (503 with `Retry-After`).
const SLOT_WAIT: Duration = Duration::from_secs(3);
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_millis(200);

fn login_limits(realm: &Realm) -> LoginLimits {
    LoginLimits {
        max_failures: realm.brute_force.max_failures,
        window: realm.brute_force.window,
        lockout: realm.brute_force.lockout,
    }
}

impl Core {
    /// Checks `username`'s password and returns the user.
    ///
    /// In order: a password longer than [`MAX_PASSWORD_BYTES`] is refused; a
    /// place in the hashing queue is taken (503 when full, before the user is
    /// read); a brute-force slot is taken for the username (waiting while
    /// attempts in flight hold every slot); then the password is verified, or a
    /// dummy hash for an unknown user or a locked account. Unknown users, wrong
    /// passwords and locked accounts get the same answer after the same work and
    /// the same write. The slot is given back off the request path.
    pub(crate) async fn authenticate_user(
        &self,
        realm: &Realm,
        username: &str,
        password: SecretString,
    ) -> Result<User, TokenError> {
        if password.expose().len() > MAX_PASSWORD_BYTES {
            return Err(TokenError::InvalidRequest(format!(
                "Passwords are at most {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        let permit = self.hasher.try_reserve()?;
        // Keyed, and apart from token digests: the store never sees the
        // usernames people mistype, and a dump does not list them.
        let subject = self.digester.digest(&format!("username\0{username}"));
        let limits = login_limits(realm);
        let Some(slot) = self.wait_for_login_slot(realm, subject, limits).await? else {
            self.hasher.verify_dummy(permit, &password).await?;
            return Err(TokenError::InvalidUserCredentials);
        };
        let user = self
            .store
            .find_user_by_username(&realm.name, username)
            .await?;
        let matches = match &user {
            Some(user) => {
                self.hasher
                    .verify(permit, &password, stored_password(user))
                    .await?
            }
            None => self.hasher.verify_dummy(permit, &password).await?,
        };
        slot.release(if matches {
            LoginOutcome::Succeeded
        } else {
            LoginOutcome::Failed
        });
        let user = user
            .filter(|_| matches)
            .ok_or(TokenError::InvalidUserCredentials)?;
        if self.hasher.needs_upgrade(stored_password(&user)) {
            self.upgrade_password_hash(&user, password);
        }
        Ok(user)
    }

    /// [`Self::authenticate_user`], then [`Self::ensure_user_active`]: the
    /// user, and the moment they proved who they are.
    pub(crate) async fn authenticate_active_user(
        &self,
        realm: &Realm,
        username: &str,
        password: SecretString,
    ) -> Result<(User, Timestamp), TokenError> {
        let user = self.authenticate_user(realm, username, password).await?;
        let now = Timestamp::now();
        self.ensure_user_active(&user, now).await?;
        Ok((user, now))
    }

    /// Replaces an unpeppered or outdated hash after a successful login, off
    /// the request path (it costs one more hash).
    fn upgrade_password_hash(&self, user: &User, password: SecretString) {
        let hasher = self.hasher.clone();
        let store = self.store.clone();
        let (user_id, old_hash) = (user.id.clone(), user.password_hash.clone());
        tokio::spawn(async move {
            let upgraded = match hasher.hash(password).await {
                Ok(new_hash) => store
                    .upgrade_password_hash(&user_id, &old_hash, &new_hash)
                    .await
                    .map_err(TokenError::from),
                Err(error) => Err(error),
            };
            if let Err(error) = upgraded {
                tracing::warn!(%error, "could not upgrade a password hash");
            }
        });
    }

    /// A slot for one attempt, or `None` when the account is locked; waits
    /// while attempts in flight hold every slot, up to [`SLOT_WAIT`].
    async fn wait_for_login_slot(
        &self,
        realm: &Realm,
        subject: Vec<u8>,
        limits: LoginLimits,
    ) -> Result<Option<HeldSlot>, TokenError> {
        let deadline = Instant::now() + SLOT_WAIT;
        let mut pause = FIRST_PAUSE;
        loop {
            // In a task of its own: a request dropped while the write is under
            // way (timeout, client gone) must not leave a slot taken with no
            // one to give it back. The task outlives the request and drops
            // (and so releases) a slot nobody waits for.
            let attempt = HeldSlot::acquire(
                self.store.clone(),
                realm.name.clone(),
                subject.clone(),
                limits,
            );
            let acquisition = tokio::spawn(attempt)
                .await
                .map_err(|_| TokenError::TemporarilyUnavailable)??;
            match acquisition {
                Acquisition::Held(slot) => return Ok(Some(slot)),
                Acquisition::Locked => return Ok(None),
                Acquisition::Busy => {}
            }
            if Instant::now() + pause > deadline {
                return Err(TokenError::TemporarilyUnavailable);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }
}

fn stored_password(user: &User) -> StoredPassword<'_> {
    StoredPassword {
        phc: &user.password_hash,
        peppered: user.password_peppered,
    }
}

/// A brute-force slot held by an attempt in flight. It is given back with the
/// outcome, off the request path (the answer does not wait for the write, so
/// every outcome takes the same time); if the request is dropped first (the
/// client went away), as abandoned.
struct HeldSlot {
    store: Option<Store>,
    realm: String,
    subject: Vec<u8>,
    limits: LoginLimits,
}

/// What one try for a brute-force slot found.
enum Acquisition {
    Held(HeldSlot),
    Locked,
    Busy,
}

impl HeldSlot {
    /// Asks the store for a slot; the guard exists only once the store has
    /// handed one out.
    async fn acquire(
        store: Store,
        realm: String,
        subject: Vec<u8>,
        limits: LoginLimits,
    ) -> Result<Acquisition, TokenError> {
        let slot = store
            .acquire_login_slot(&realm, &subject, Timestamp::now(), limits)
            .await?;
        Ok(match slot {
            LoginSlot::Acquired => Acquisition::Held(HeldSlot {
                store: Some(store),
                realm,
                subject,
                limits,
            }),
            LoginSlot::Locked => Acquisition::Locked,
            LoginSlot::Busy => Acquisition::Busy,
        })
    }

    fn release(mut self, outcome: LoginOutcome) {
        self.spawn_release(outcome);
    }

    fn spawn_release(&mut self, outcome: LoginOutcome) {
        let Some(store) = self.store.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let realm = std::mem::take(&mut self.realm);
        let subject = std::mem::take(&mut self.subject);
        let limits = self.limits;
        runtime.spawn(async move {
            if let Err(error) = store
                .release_login_slot(&realm, &subject, outcome, Timestamp::now(), limits)
                .await
            {
                tracing::error!(%error, ?outcome, "could not release a login slot");
            }
        });
    }
}

impl Drop for HeldSlot {
    fn drop(&mut self) {
        self.spawn_release(LoginOutcome::Abandoned);
    }
}
