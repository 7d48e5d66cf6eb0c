-- Personal access tokens. An expose token is an opaque token stored only as a
-- keyed digest; a client token is a refresh-token family bound to a client the
-- user picked (its secrets live in refresh_tokens, as digests too).
CREATE TABLE personal_tokens (
    id TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('expose', 'client')),
    name TEXT NOT NULL,
    description TEXT,
    digest BLOB UNIQUE,
    hint TEXT NOT NULL,
    family_id TEXT REFERENCES refresh_families (id) ON DELETE SET NULL,
    client_id TEXT,
    offline BIGINT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    last_used_ip TEXT,
    use_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX personal_tokens_user ON personal_tokens (user_id);
CREATE INDEX personal_tokens_family ON personal_tokens (family_id);

-- The audit trail of personal tokens. Kept after the token is deleted.
CREATE TABLE token_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id TEXT NOT NULL,
    realm TEXT NOT NULL,
    user_id TEXT NOT NULL,
    event TEXT NOT NULL,
    -- Who created or deleted the token: 'user' (account API) or 'operator' (CLI).
    actor TEXT,
    client_id TEXT,
    address TEXT,
    outcome TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX token_events_token ON token_events (token_id, id);

-- Users an operator deleted. Realm files seed their users when absent; these
-- are not seeded again (an explicit `tessera user add` recreates one).
CREATE TABLE deleted_users (
    realm TEXT NOT NULL REFERENCES realms (name),
    username TEXT NOT NULL,
    deleted_at BIGINT NOT NULL,
    PRIMARY KEY (realm, username)
);
