-- Issue 14: secure aggregation. A round of a plan in mode 'secure' runs through the phases
-- advertise -> share -> submit -> unmask before it aggregates (ADR 0009, 0010). The aggregator stores
-- what participants make for each other and cannot open any of it: signed advertisements of fresh
-- round keys, Shamir-share envelopes encrypted to a neighbour, and the unmask responses.
ALTER TABLE plans DROP CONSTRAINT plans_mode_check;
ALTER TABLE plans ADD CONSTRAINT plans_mode_check CHECK (mode IN ('he', 'plain', 'secure'));
-- How long each key-exchange phase (advertise, share, unmask) may take; submit keeps deadline_seconds.
ALTER TABLE plans ADD COLUMN phase_seconds int NOT NULL DEFAULT 60 CHECK (phase_seconds > 0);

ALTER TABLE rounds DROP CONSTRAINT rounds_state_check;
ALTER TABLE rounds ADD CONSTRAINT rounds_state_check CHECK (state IN (
  'advertising', 'sharing', 'open', 'collecting', 'unmasking', 'aggregating', 'published', 'failed'));
-- The deadline of the phase the round is in (advertising, sharing, unmasking); NULL otherwise.
ALTER TABLE rounds ADD COLUMN phase_deadline_at timestamptz;
-- Who advertised (U1, fixed when sharing starts), who shared (U2, fixed when submit starts), and who
-- survived or dropped out (fixed, with the coordinator's signed announcement, when unmasking starts).
ALTER TABLE rounds ADD COLUMN advertised text[];
ALTER TABLE rounds ADD COLUMN shared text[];
ALTER TABLE rounds ADD COLUMN survivors text[];
ALTER TABLE rounds ADD COLUMN dropouts text[];
ALTER TABLE rounds ADD COLUMN unmask_announcement text;
-- The SecAgg+ neighbour degree and Shamir threshold of the round (from |U1|).
ALTER TABLE rounds ADD COLUMN secagg_degree int;
ALTER TABLE rounds ADD COLUMN secagg_threshold int;

CREATE TABLE mask_advertisements (
  plan_id          text NOT NULL,
  round            int NOT NULL,
  member           text NOT NULL,
  advertisement    text NOT NULL CHECK (length(advertisement) > 0),
  digest           text NOT NULL,
  mask_public_key  text NOT NULL,
  share_public_key text NOT NULL,
  stored_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plan_id, round, member),
  FOREIGN KEY (plan_id, round) REFERENCES rounds (plan_id, round)
);

CREATE TABLE share_envelopes (
  plan_id    text NOT NULL,
  round      int NOT NULL,
  sender     text NOT NULL,
  recipient  text NOT NULL,
  jwe        text NOT NULL CHECK (length(jwe) > 0),
  stored_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plan_id, round, sender, recipient),
  FOREIGN KEY (plan_id, round, sender) REFERENCES mask_advertisements (plan_id, round, member),
  FOREIGN KEY (plan_id, round, recipient) REFERENCES mask_advertisements (plan_id, round, member)
);

CREATE TABLE unmask_responses (
  plan_id    text NOT NULL,
  round      int NOT NULL,
  member     text NOT NULL,
  response   text NOT NULL CHECK (length(response) > 0),
  digest     text NOT NULL,
  stored_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (plan_id, round, member),
  FOREIGN KEY (plan_id, round, member) REFERENCES mask_advertisements (plan_id, round, member)
);
