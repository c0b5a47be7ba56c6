-- Issue 13: the consortium HE key is made by members and rotated. Each federation has numbered key
-- epochs: pending (started, nobody has made its key yet) -> ready (a member made it; its keyId is
-- recorded) -> retired (a later epoch started). At most one epoch is current (pending or ready).
-- Only public facts are stored: the keyId is a domain-separated hash of the key, never the key.
CREATE TABLE key_epochs (
  federation  text NOT NULL REFERENCES federations(id),
  epoch       int NOT NULL CHECK (epoch >= 1),
  state       text NOT NULL CHECK (state IN ('pending', 'ready', 'retired')),
  he_params   text NOT NULL,
  key_id      text CHECK (key_id IS NULL OR key_id ~ '^[0-9a-f]{32}$'),
  -- The member that made the key ('provision' for the one-machine convenience path's epoch 1).
  created_by  text,
  reason      text NOT NULL CHECK (reason IN ('initial', 'rotation', 'revocation')),
  started_by  text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  ready_at    timestamptz,
  retired_at  timestamptz,
  PRIMARY KEY (federation, epoch),
  CHECK ((state = 'pending') = (key_id IS NULL)),
  CHECK (state = 'pending' OR created_by IS NOT NULL)
);
CREATE UNIQUE INDEX key_epochs_one_current ON key_epochs (federation) WHERE state IN ('pending', 'ready');

-- The envelopes of an epoch: the key wrapped by `sender` for `recipient` (a compact JWE the relay
-- cannot open). One per recipient and epoch: the first delivered stays.
CREATE TABLE key_envelopes (
  federation  text NOT NULL,
  epoch       int NOT NULL,
  recipient   text NOT NULL,
  sender      text NOT NULL,
  jwe         text NOT NULL CHECK (length(jwe) > 0),
  stored_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (federation, epoch, recipient),
  FOREIGN KEY (federation, epoch) REFERENCES key_epochs (federation, epoch),
  FOREIGN KEY (federation, recipient) REFERENCES members (federation, id),
  FOREIGN KEY (federation, sender) REFERENCES members (federation, id)
);

-- The epoch whose key a round's updates are encrypted under (NULL for plain rounds and rounds
-- opened before this migration). Set when the round opens, by the state machine only.
ALTER TABLE rounds ADD COLUMN key_epoch int;
