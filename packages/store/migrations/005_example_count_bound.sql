-- Issue 19: an attested example count is a positive integer no larger than this int column holds.
-- The attestation schema (packages/kpt/src/attestation.ts) bounds it to 1..2^31-1, and the
-- aggregator refuses anything else (INVALID_ARGUMENT) before the submission's token is spent; the
-- column states the same bound, so that no code path can store a count the schema would refuse.
ALTER TABLE contributions
  ADD CONSTRAINT contributions_example_count_bound CHECK (example_count BETWEEN 1 AND 2147483647);
