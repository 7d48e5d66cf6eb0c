-- Core schema: realms, users, signing keys, refresh-token families.
-- All timestamps are milliseconds since the Unix epoch.
CREATE TABLE realms (
    name TEXT PRIMARY KEY,
    tokens_not_before BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    username TEXT NOT NULL,
    email TEXT,
    password_hash TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    valid_until BIGINT,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    failures_since BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    UNIQUE (realm, username)
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    generation BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    UNIQUE (realm, generation)
);

-- A family is one login session: its id is the `sid` of every token issued in it.
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    offline BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);

-- Only the keyed digest of a refresh token is stored.
CREATE TABLE refresh_tokens (
    digest BLOB PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT,
    consumed_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Access tokens revoked one by one (those without a session to revoke instead).
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    expires_at BIGINT NOT NULL
);
