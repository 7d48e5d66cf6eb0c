-- Hardening after a security review and a scale test.

-- A consumed refresh token has at most one live successor (RFC 9700 §4.14.2):
-- a replay inside the grace window supersedes the live token of its family, and
-- presenting a superseded token revokes the family.
ALTER TABLE refresh_tokens ADD COLUMN superseded_at BIGINT;
-- The live token of a family, found without walking its consumed ones.
CREATE INDEX refresh_tokens_live ON refresh_tokens (family_id) WHERE consumed_at IS NULL;
-- Every rotation writes the family row first: the liveness check and the lock
-- that serialises concurrent rotations of one family across nodes.
ALTER TABLE refresh_families ADD COLUMN last_refreshed_at BIGINT;

-- Login attempts per (realm, keyed digest of the username), for known and
-- unknown usernames alike, so that every attempt makes the same write.
-- `in_flight` attempts hold a slot while their password is checked; together
-- with counted `failures` they never exceed the realm's limit.
CREATE TABLE login_attempts (
    realm TEXT NOT NULL,
    subject BYTEA NOT NULL,
    failures BIGINT NOT NULL,
    failures_since BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    in_flight BIGINT NOT NULL,
    in_flight_since BIGINT NOT NULL,
    PRIMARY KEY (realm, subject)
);
CREATE INDEX login_attempts_age ON login_attempts (in_flight_since);

ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN failures_since;
ALTER TABLE users DROP COLUMN locked_until;

-- The resource servers that may accept an expose token by introspection (RFC
-- 7662 §4), one client id per line; empty for client tokens (and for expose
-- tokens created before this: they follow the realm's expose_audience).
ALTER TABLE personal_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '';

-- Password hashes made from now on hash the password peppered with a subkey of
-- the master key (HMAC); older and imported hashes are upgraded at the next
-- successful login.
ALTER TABLE users ADD COLUMN password_peppered BIGINT NOT NULL DEFAULT 0;

-- Uses of a token that were refused (expired, user inactive, another audience)
-- are counted here, not stored one event each: a flood of them cannot grow
-- token_events.
ALTER TABLE personal_tokens ADD COLUMN refused_uses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE personal_tokens ADD COLUMN last_refused_at BIGINT;

-- Retention: the purge job finds what it deletes through these. Partial, so
-- that they hold only dead (or dying) rows and no query for live rows
-- ("revoked_at IS NULL") can walk them as a disguised scan.
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX refresh_tokens_consumed ON refresh_tokens (consumed_at) WHERE consumed_at IS NOT NULL;
CREATE INDEX refresh_families_revoked ON refresh_families (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX refresh_families_expiry ON refresh_families (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX revocations_expiry ON revocations (relevant_until);
CREATE INDEX token_events_age ON token_events (at);
