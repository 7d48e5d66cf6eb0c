-- Endpoints of an integration platform: paths that other systems call to push
-- or fetch data. With token authentication on, an endpoint has a primary token
-- per allowed method (GET, POST, and DELETE while deleting is allowed).
-- Calls with forged or unknown tokens are only counted here, never stored one
-- row each.
CREATE TABLE endpoints (
    id TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    path TEXT NOT NULL,
    authentication TEXT NOT NULL,
    allow_delete BIGINT NOT NULL,
    refused_calls BIGINT NOT NULL DEFAULT 0,
    last_refused_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);
CREATE UNIQUE INDEX endpoints_path ON endpoints (realm, path);

-- One primary token per endpoint and method, stored as a keyed digest; sealed
-- under the master key as well only while the realm keeps endpoint tokens
-- recoverable. Regenerating replaces the digest in place.
CREATE TABLE endpoint_primary_tokens (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    digest BLOB NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    sealed BLOB,
    created_at BIGINT NOT NULL,
    UNIQUE (endpoint_id, method)
);

-- Secondary tokens, one per consuming application: 64 alphanumeric characters
-- with a checksum inside. A token works only while enabled, active and
-- assigned; deactivating moves it to the inactive list.
CREATE TABLE endpoint_tokens (
    id TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    digest BLOB NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    sealed BLOB,
    enabled BIGINT NOT NULL,
    active BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);
CREATE INDEX endpoint_tokens_list ON endpoint_tokens (realm, active, name);

-- Which secondary tokens may stand in for which primary tokens: per endpoint
-- and method. Removing a primary token (deleting disallowed, token
-- authentication off) removes what was mapped to it.
CREATE TABLE endpoint_token_assignments (
    endpoint_id TEXT NOT NULL,
    method TEXT NOT NULL,
    token_id TEXT NOT NULL REFERENCES endpoint_tokens (id) ON DELETE CASCADE,
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (endpoint_id, method, token_id),
    FOREIGN KEY (endpoint_id, method)
        REFERENCES endpoint_primary_tokens (endpoint_id, method) ON DELETE CASCADE
);
CREATE INDEX endpoint_token_assignments_token ON endpoint_token_assignments (token_id);

-- Every checked call made with a known token, accepted or refused. Kept after
-- the token or the endpoint is gone, for the audit trail.
CREATE TABLE endpoint_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    realm TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    method TEXT NOT NULL,
    token_kind TEXT NOT NULL,
    token_id TEXT NOT NULL,
    token_name TEXT NOT NULL,
    outcome TEXT NOT NULL,
    address TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX endpoint_calls_endpoint ON endpoint_calls (endpoint_id, id);
CREATE INDEX endpoint_calls_token ON endpoint_calls (endpoint_id, token_id, id);
CREATE INDEX endpoint_calls_age ON endpoint_calls (at);

-- Per endpoint and token: how many calls, refused ones apart, and the latest.
CREATE TABLE endpoint_callers (
    endpoint_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    token_kind TEXT NOT NULL,
    token_name TEXT NOT NULL,
    calls BIGINT NOT NULL,
    refused_calls BIGINT NOT NULL,
    last_called_at BIGINT NOT NULL,
    last_address TEXT,
    PRIMARY KEY (endpoint_id, token_id)
);

-- Management acts on endpoint tokens that need their own trail: revealing a
-- recoverable token's secret. Kept after the token is gone.
CREATE TABLE endpoint_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    realm TEXT NOT NULL,
    endpoint_id TEXT,
    token_id TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_id TEXT,
    address TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX endpoint_events_token ON endpoint_events (token_id, id);
CREATE INDEX endpoint_events_age ON endpoint_events (at);
