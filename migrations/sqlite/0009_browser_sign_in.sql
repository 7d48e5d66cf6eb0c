-- Browser and device sign-in: the sessions of signed-in browsers, the
-- authorization codes they are issued (RFC 6749 §4.1), and device
-- authorizations (RFC 8628). Secrets are stored as keyed digests only.

-- A signed-in browser (single sign-on): its cookie holds the secret whose
-- digest is stored here. It lives as long as the realm's sessions do: idle
-- since `last_seen_at`, and never past `expires_at`.
CREATE TABLE browser_sessions (
    id TEXT PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE,
    realm TEXT NOT NULL REFERENCES realms (name),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX browser_sessions_user ON browser_sessions (user_id);
CREATE INDEX browser_sessions_expiry ON browser_sessions (expires_at);

-- The browser session a refresh family was signed in through (logout ends
-- its online families), and when its user last entered their password.
ALTER TABLE refresh_families ADD COLUMN browser_session_id TEXT;
ALTER TABLE refresh_families ADD COLUMN auth_time BIGINT;
CREATE INDEX refresh_families_browser_session ON refresh_families (browser_session_id)
    WHERE browser_session_id IS NOT NULL;

-- Single-use: `consumed_at` is set by the exchange, in the transaction that
-- starts `family_id`, so that a replay finds the family to revoke.
CREATE TABLE authorization_codes (
    digest BLOB PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    client_id TEXT NOT NULL,
    browser_session_id TEXT NOT NULL REFERENCES browser_sessions (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    family_id TEXT
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);
-- Deleting a browser session deletes its codes through this.
CREATE INDEX authorization_codes_browser_session ON authorization_codes (browser_session_id);

-- A device waiting for its user: pending until the user approves or denies
-- on the verification page; consumed by the poll that gets the tokens.
CREATE TABLE device_authorizations (
    digest BLOB PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    user_code_digest BLOB NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    interval_seconds BIGINT NOT NULL,
    last_polled_at BIGINT,
    decision TEXT,
    browser_session_id TEXT REFERENCES browser_sessions (id) ON DELETE CASCADE,
    decided_at BIGINT,
    consumed_at BIGINT,
    UNIQUE (realm, user_code_digest)
);
CREATE INDEX device_authorizations_expiry ON device_authorizations (expires_at);
CREATE INDEX device_authorizations_browser_session
    ON device_authorizations (browser_session_id) WHERE browser_session_id IS NOT NULL;
