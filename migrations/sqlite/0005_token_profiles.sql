-- Token profiles: personal tokens of kind 'profile', whose permissions (RFC 9396
-- authorization details, as JSON) say what they may do. `profile_id` is the id
-- the owner chose, unique among the owner's profiles; NULL for other kinds
-- (NULLs never collide in a unique index, on either backend). A disabled
-- profile introspects as inactive until it is enabled again.
--
-- SQLite cannot change a CHECK constraint in place: the tables whose kind list
-- grows are rebuilt, with the same columns in the same order and the new ones
-- last, as PostgreSQL's ALTER TABLE leaves them.
CREATE TABLE personal_tokens_new (
    id TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('expose', 'client', 'profile')),
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
    use_count BIGINT NOT NULL DEFAULT 0,
    audience TEXT NOT NULL DEFAULT '',
    refused_uses BIGINT NOT NULL DEFAULT 0,
    last_refused_at BIGINT,
    profile_id TEXT,
    enabled BIGINT NOT NULL DEFAULT 1,
    permissions TEXT NOT NULL DEFAULT '',
    updated_at BIGINT
);
INSERT INTO personal_tokens_new (id, realm, user_id, kind, name, description, digest, hint,
    family_id, client_id, offline, scope, created_at, expires_at, last_used_at, last_used_ip,
    use_count, audience, refused_uses, last_refused_at)
SELECT id, realm, user_id, kind, name, description, digest, hint, family_id, client_id, offline,
    scope, created_at, expires_at, last_used_at, last_used_ip, use_count, audience, refused_uses,
    last_refused_at
FROM personal_tokens;
DROP TABLE personal_tokens;
ALTER TABLE personal_tokens_new RENAME TO personal_tokens;
CREATE INDEX personal_tokens_family ON personal_tokens (family_id);
-- Also the index of a user's tokens: it leads with user_id.
CREATE UNIQUE INDEX personal_tokens_profile ON personal_tokens (user_id, profile_id);

-- 'changed': a token that still counts but whose introspection answer changed
-- (a profile edited, disabled or enabled); verifiers evict their cached answer.
CREATE TABLE revocations_new (
    realm TEXT NOT NULL REFERENCES realms (name),
    kind TEXT NOT NULL CHECK (kind IN ('sid', 'jti', 'changed')),
    id TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    relevant_until BIGINT NOT NULL,
    PRIMARY KEY (realm, kind, id)
);
INSERT INTO revocations_new (realm, kind, id, revoked_at, relevant_until)
SELECT realm, kind, id, revoked_at, relevant_until FROM revocations;
DROP TABLE revocations;
ALTER TABLE revocations_new RENAME TO revocations;
CREATE INDEX revocations_by_time ON revocations (realm, revoked_at);
CREATE INDEX revocations_expiry ON revocations (relevant_until);
