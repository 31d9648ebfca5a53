-- Hearth schema v2: a password reset signs the account out everywhere.
-- Tokens issued (JWT `iat`, Unix seconds) before this moment are refused.
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER NOT NULL DEFAULT 0;
