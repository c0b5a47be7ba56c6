-- Issue 13: each member has an X25519 key of its own for receiving the consortium HE key as a JWE
-- from another member. Only the public JWK is stored; the aggregator relays what is encrypted to it
-- and cannot open it. NULL for members registered before this migration (they cannot receive a key
-- until they enroll again).
ALTER TABLE members ADD COLUMN encryption_jwk jsonb
  CHECK (encryption_jwk IS NULL OR (encryption_jwk ->> 'crv' = 'X25519' AND NOT encryption_jwk ? 'd'));
