-- 0002: indexes for `kinemactl list` filters, durable timers, and the
-- journal-level leader fence.

CREATE INDEX workflows_by_status ON workflows(status, updated_ms);
CREATE INDEX workflows_by_type   ON workflows(type, updated_ms);

-- Durable timers (derived from timer_set events): a wait that survives a
-- restart continues with its remaining deadline.
CREATE TABLE timers (
  workflow_id TEXT    NOT NULL REFERENCES workflows(id),
  name        TEXT    NOT NULL,   -- "<step_index>/<timer name>"
  deadline_ms INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, name)
);

-- The highest leader epoch that ever wrote this journal. An append stamped
-- with a lower epoch comes from a deposed leader and is refused.
CREATE TABLE fence (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  max_epoch INTEGER NOT NULL
);
INSERT INTO fence(id, max_epoch) VALUES (1, 0);
