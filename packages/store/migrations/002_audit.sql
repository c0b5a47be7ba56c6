-- Append-only, hash-chained audit log (issue 7). The row hash is computed by the application
-- (packages/store/src/audit.ts, canonical JSON = RFC 8785); Postgres enforces that rows are never
-- changed or removed, that seq is unique and that no two rows extend the same predecessor.

CREATE TABLE audit_log (
  -- Assigned by appendAudit as head + 1 under an advisory lock, not by a sequence: a sequence
  -- leaves gaps on rolled-back transactions, and a gap is exactly what verify reports as a deleted row.
  seq         bigint PRIMARY KEY CHECK (seq > 0),
  -- Rendered for hashing as to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"').
  at          timestamptz NOT NULL,
  federation  text NOT NULL,
  event       text NOT NULL CHECK (event ~ '^[a-z]+(\.[a-z_]+)+$'),
  plan_id     text,
  round       int,
  member      text,
  actor       text,
  data        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(data) = 'object'),
  prev_hash   text NOT NULL CHECK (prev_hash ~ '^sha256:[0-9a-f]{64}$'),
  hash        text NOT NULL CHECK (hash ~ '^sha256:[0-9a-f]{64}$'),
  -- One successor per row: the chain cannot fork even if a writer skipped the advisory lock.
  CONSTRAINT audit_log_prev_hash_key UNIQUE (prev_hash),
  CONSTRAINT audit_log_hash_key UNIQUE (hash)
);

-- Keyset pagination is always "filter ... AND seq > $after ORDER BY seq LIMIT n".
CREATE INDEX audit_log_member ON audit_log (member, seq) WHERE member IS NOT NULL;
CREATE INDEX audit_log_round ON audit_log (round, seq) WHERE round IS NOT NULL;
CREATE INDEX audit_log_plan_round ON audit_log (plan_id, round, seq) WHERE plan_id IS NOT NULL;
CREATE INDEX audit_log_event ON audit_log (event, seq);
CREATE INDEX audit_log_at ON audit_log (at, seq);

-- Signed chain heads: a compact JWS (typ kpfl-audit-checkpoint+jwt) by the coordinator key over
-- {federation, seq, headHash, at}. A row deleted or rewritten at or before `seq` breaks the checkpoint.
CREATE TABLE audit_checkpoints (
  seq        bigint PRIMARY KEY CHECK (seq > 0),
  head_hash  text NOT NULL CHECK (head_hash ~ '^sha256:[0-9a-f]{64}$'),
  jws        text NOT NULL,
  at         timestamptz NOT NULL
);

CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    RAISE EXCEPTION '% is append-only: % of seq % refused', TG_TABLE_NAME, TG_OP, OLD.seq
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'audit rows are hash-chained evidence; they are never updated or deleted';
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'audit rows are hash-chained evidence; they are never updated or deleted';
END
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- The aggregator's database role (cluster-wide, NOLOGIN): full DML on the round tables, but only
-- SELECT and INSERT on the audit tables. The aggregator connects as a LOGIN role that is a member:
--   CREATE ROLE kpfl_aggregator_app LOGIN PASSWORD '...' IN ROLE kpfl_aggregator;
-- Several schemas (tests, deployments) may run this migration concurrently, and the migrating
-- user may lack CREATEROLE: both are tolerated, and grants are only made when the role exists.
DO $$
BEGIN
  BEGIN
    CREATE ROLE kpfl_aggregator NOLOGIN;
  EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
      RAISE NOTICE 'kpfl: cannot create role kpfl_aggregator (no CREATEROLE); create it and re-run the grants of 002_audit.sql';
  END;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpfl_aggregator') THEN
    GRANT USAGE ON SCHEMA :schema TO kpfl_aggregator;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :schema TO kpfl_aggregator;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA :schema TO kpfl_aggregator;
    REVOKE UPDATE, DELETE, TRUNCATE ON :schema.audit_log, :schema.audit_checkpoints FROM kpfl_aggregator;
    -- Tables of later migrations get full DML by default; a later audit-like table must REVOKE like above.
    ALTER DEFAULT PRIVILEGES IN SCHEMA :schema GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kpfl_aggregator;
    ALTER DEFAULT PRIVILEGES IN SCHEMA :schema GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kpfl_aggregator;
  END IF;
END
$$;
