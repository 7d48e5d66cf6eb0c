-- Token profiles: personal tokens of kind 'profile', whose permissions (RFC 9396
-- authorization details, as JSON) say what they may do. `profile_id` is the id
-- the owner chose, unique among the owner's profiles; NULL for other kinds
-- (NULLs never collide in a unique index, on either backend). A disabled
-- profile introspects as inactive until it is enabled again.
ALTER TABLE personal_tokens DROP CONSTRAINT personal_tokens_kind_check;
ALTER TABLE personal_tokens ADD CONSTRAINT personal_tokens_kind_check
    CHECK (kind IN ('expose', 'client', 'profile'));
ALTER TABLE personal_tokens ADD COLUMN profile_id TEXT;
ALTER TABLE personal_tokens ADD COLUMN enabled BIGINT NOT NULL DEFAULT 1;
ALTER TABLE personal_tokens ADD COLUMN permissions TEXT NOT NULL DEFAULT '';
ALTER TABLE personal_tokens ADD COLUMN updated_at BIGINT;
-- Also the index of a user's tokens: it leads with user_id.
CREATE UNIQUE INDEX personal_tokens_profile ON personal_tokens (user_id, profile_id);
DROP INDEX personal_tokens_user;

-- 'changed': a token that still counts but whose introspection answer changed
-- (a profile edited, disabled or enabled); verifiers evict their cached answer.
ALTER TABLE revocations DROP CONSTRAINT revocations_kind_check;
ALTER TABLE revocations ADD CONSTRAINT revocations_kind_check
    CHECK (kind IN ('sid', 'jti', 'changed'));
