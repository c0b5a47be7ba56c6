-- Issue 19: the agreed global-model digest is what a round's contributors sign, round 0 is the
-- plan's recorded initial model, and a plan bounds the norm of the mean update participants apply.

-- The digest of the initial global model (round 0), recorded when the plan is scheduled: the
-- scheduler computes it from the model and the seed (it is public: initial weights are seeded).
-- NULL only for plans scheduled before this migration, whose round 0 was reported by a member.
ALTER TABLE plans ADD COLUMN initial_model_digest text
  CHECK (initial_model_digest IS NULL OR initial_model_digest ~ '^sha256:[0-9a-f]{64}$');

-- Every participant clips its own update to this L2 norm before encrypting, and rejects a round
-- whose decrypted mean update is longer. 0 = no bound.
ALTER TABLE plans ADD COLUMN max_update_norm double precision NOT NULL DEFAULT 0
  CHECK (max_update_norm >= 0 AND max_update_norm < 'Infinity'::double precision);

COMMENT ON COLUMN model_digests.reported_by IS
  'plan (round 0), contributors (signed by a majority of the round''s contributors), carried-over (a failed round), or a member id (chains written before issue 19)';
