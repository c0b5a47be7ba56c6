-- Federation, members, plans, rounds, contributions, aggregates, evaluations, certificates.
CREATE TABLE federations (
  id          text PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  jwks        jsonb NOT NULL DEFAULT '{"keys":[]}'
);

CREATE TABLE members (
  federation   text NOT NULL REFERENCES federations(id),
  id           text NOT NULL,
  kid          text NOT NULL,
  public_jwk   jsonb NOT NULL,
  roles        text[] NOT NULL DEFAULT '{participant}',
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  last_seen_at timestamptz,
  PRIMARY KEY (federation, id)
);

CREATE TABLE plans (
  id                text PRIMARY KEY,
  federation        text NOT NULL REFERENCES federations(id),
  state             text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'cancelled', 'failed')),
  total_rounds      int NOT NULL CHECK (total_rounds > 0),
  min_participants  int NOT NULL CHECK (min_participants > 0),
  fraction          double precision NOT NULL CHECK (fraction > 0 AND fraction <= 1),
  deadline_seconds  int NOT NULL CHECK (deadline_seconds > 0),
  -- Members count as eligible when seen (any authenticated call) this recently.
  seen_within_seconds int NOT NULL DEFAULT 600 CHECK (seen_within_seconds > 0),
  on_round_failure  text NOT NULL DEFAULT 'continue' CHECK (on_round_failure IN ('continue', 'stop')),
  mode              text NOT NULL CHECK (mode IN ('he', 'plain')),
  he_params         text NOT NULL,
  model             text NOT NULL,
  parameter_count   bigint NOT NULL,
  slot_count        int NOT NULL,
  chunk_count       int NOT NULL,
  training          jsonb NOT NULL,
  seed              int NOT NULL,
  start_at          timestamptz NOT NULL DEFAULT now(),
  created_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz
);

CREATE TABLE rounds (
  plan_id           text NOT NULL REFERENCES plans(id),
  round             int NOT NULL CHECK (round > 0),
  state             text NOT NULL CHECK (state IN ('open', 'collecting', 'aggregating', 'published', 'failed')),
  sampled           text[] NOT NULL,
  quorum            int NOT NULL,
  min_participants  int NOT NULL,
  sampling_seed     text NOT NULL,
  base_model_digest text,
  opened_at         timestamptz NOT NULL DEFAULT now(),
  deadline_at       timestamptz NOT NULL,
  closed_at         timestamptz,
  published_at      timestamptz,
  aggregate_digest  text,
  contributions     int NOT NULL DEFAULT 0,
  failure_reason    text,
  PRIMARY KEY (plan_id, round)
);

-- Accepted contributions only; refusals are audit events, never stored payloads.
CREATE TABLE contributions (
  id                 bigserial PRIMARY KEY,
  plan_id            text NOT NULL,
  round              int NOT NULL,
  member             text NOT NULL,
  attestation        text NOT NULL,
  attestation_digest text NOT NULL,
  update_digest      text NOT NULL,
  base_model_digest  text NOT NULL,
  example_count      int NOT NULL,
  bytes              bigint NOT NULL,
  receipt            text NOT NULL,
  received_at        timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (plan_id, round) REFERENCES rounds(plan_id, round),
  UNIQUE (plan_id, round, member)
);
CREATE INDEX contributions_member ON contributions (member, plan_id, round);

-- Payload bytes of an accepted contribution, kept until its round is published (then deleted).
CREATE TABLE contribution_chunks (
  contribution_id bigint NOT NULL REFERENCES contributions(id) ON DELETE CASCADE,
  idx             int NOT NULL,
  data            bytea NOT NULL,
  PRIMARY KEY (contribution_id, idx)
);

CREATE TABLE aggregates (
  plan_id text NOT NULL,
  round   int NOT NULL,
  idx     int NOT NULL,
  data    bytea NOT NULL,
  PRIMARY KEY (plan_id, round, idx),
  FOREIGN KEY (plan_id, round) REFERENCES rounds(plan_id, round)
);

CREATE TABLE evaluations (
  plan_id      text NOT NULL,
  round        int NOT NULL,
  member       text NOT NULL,
  model_digest text NOT NULL,
  accuracy     double precision NOT NULL,
  loss         double precision NOT NULL,
  examples     int NOT NULL,
  reported_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plan_id, round, member)
);

-- The consortium's agreed global-model digest after each round (round 0 = initial model):
-- the first reported digest wins; later reports must match it.
CREATE TABLE model_digests (
  plan_id     text NOT NULL REFERENCES plans(id),
  round       int NOT NULL CHECK (round >= 0),
  digest      text NOT NULL,
  reported_by text NOT NULL,
  PRIMARY KEY (plan_id, round)
);

CREATE TABLE certificates (
  plan_id     text NOT NULL,
  round       int NOT NULL,
  certificate jsonb NOT NULL,
  signers     text[] NOT NULL,
  PRIMARY KEY (plan_id, round),
  FOREIGN KEY (plan_id, round) REFERENCES rounds(plan_id, round)
);
