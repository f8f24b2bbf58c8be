-- 0004: journal retention. Workflows that ended without any effect outside
-- the journal (every step intent marked journalOnly) may be pruned once
-- they are older than journal.retention. `pruned` keeps one row per pruned
-- workflow, and only a prune — which raises prune_guard.active inside its
-- own transaction — may delete events; everything else stays append-only.

CREATE TABLE prune_guard (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  active INTEGER NOT NULL
);
INSERT INTO prune_guard(id, active) VALUES (1, 0);

DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN (SELECT active FROM prune_guard WHERE id = 1) = 0
BEGIN SELECT RAISE(ABORT, 'journal events are append-only (only a retention prune deletes them)'); END;

CREATE TABLE pruned (
  id         TEXT PRIMARY KEY,
  type       TEXT    NOT NULL,
  status     TEXT    NOT NULL,
  outcome    TEXT,
  created_ms INTEGER NOT NULL,
  ended_ms   INTEGER NOT NULL,
  events     INTEGER NOT NULL,
  pruned_ms  INTEGER NOT NULL
);

CREATE INDEX events_by_kind ON events(kind, at_ms);
