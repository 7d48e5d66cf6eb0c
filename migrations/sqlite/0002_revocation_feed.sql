-- The revocation feed (GET …/protocol/openid-connect/revocations): sessions (`sid`)
-- and single access tokens (`jti`) that resource servers verifying JWTs locally
-- must refuse. Each entry matters until `relevant_until`, when every token it
-- concerns has expired; the feed stops listing it then and a purge deletes it.
-- Replaces revoked_access_tokens, whose rows become `jti` entries.
CREATE TABLE revocations (
    realm TEXT NOT NULL REFERENCES realms (name),
    kind TEXT NOT NULL CHECK (kind IN ('sid', 'jti')),
    id TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    relevant_until BIGINT NOT NULL,
    PRIMARY KEY (realm, kind, id)
);
CREATE INDEX revocations_by_time ON revocations (realm, revoked_at);

INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until)
SELECT realm, 'jti', jti, 0, expires_at FROM revoked_access_tokens;

DROP TABLE revoked_access_tokens;
