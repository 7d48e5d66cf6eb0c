-- Companies that buy API subscriptions. A realm admin creates them; their
-- members are users of the realm, each with roles in that company (the role
-- 'company-admin' manages it). Roles are stored one per line.
CREATE TABLE companies (
    id TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX companies_name ON companies (realm, name);

CREATE TABLE company_members (
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    roles TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (company_id, user_id)
);
CREATE INDEX company_members_user ON company_members (user_id);

-- A subscription grants one API (the audience: a client id of the realm) with
-- the grants its tokens carry (RFC 9396 authorization details, as JSON). A
-- disabled subscription, or one outside its validity window, makes its tokens
-- inactive without deleting them.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    audience TEXT NOT NULL,
    permissions TEXT NOT NULL,
    valid_from BIGINT,
    valid_until BIGINT,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);
CREATE UNIQUE INDEX subscriptions_name ON subscriptions (company_id, name);

-- The members who may receive user tokens for a subscription.
CREATE TABLE subscription_assignments (
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, user_id)
);
CREATE INDEX subscription_assignments_user ON subscription_assignments (user_id);

-- Tokens a company admin generated for a subscription: for an assigned user,
-- or userless (user_id NULL: a machine). Stored only as a keyed digest. The
-- code deletes them explicitly, after putting them on the revocation feed; the
-- cascades only back that up.
CREATE TABLE company_tokens (
    id TEXT PRIMARY KEY,
    realm TEXT NOT NULL REFERENCES realms (name),
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    digest BYTEA NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    last_used_ip TEXT,
    use_count BIGINT NOT NULL DEFAULT 0,
    refused_uses BIGINT NOT NULL DEFAULT 0,
    last_refused_at BIGINT
);
CREATE INDEX company_tokens_subscription ON company_tokens (subscription_id, user_id);
CREATE INDEX company_tokens_company ON company_tokens (company_id, created_at);
CREATE INDEX company_tokens_user ON company_tokens (user_id);

-- The audit trail of companies: who (actor; actor_id the acting user, NULL for
-- an operator) did what to which member, subscription or token, and every use
-- of a company token (no actor: the token itself). Kept after what it names is
-- deleted.
CREATE TABLE company_events (
    id BIGSERIAL PRIMARY KEY,
    realm TEXT NOT NULL,
    company_id TEXT NOT NULL,
    event TEXT NOT NULL,
    subscription_id TEXT,
    user_id TEXT,
    token_id TEXT,
    actor TEXT,
    actor_id TEXT,
    client_id TEXT,
    address TEXT,
    outcome TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX company_events_company ON company_events (company_id, id);
CREATE INDEX company_events_age ON company_events (at);
