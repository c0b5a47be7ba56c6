-- Ciphertext bytes are uniformly random: Postgres' TOAST compression only burns CPU trying.
-- EXTERNAL stores them out of line without compression (measured: 57-78 ms -> 22 ms per update).
ALTER TABLE contribution_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE aggregates ALTER COLUMN data SET STORAGE EXTERNAL;
