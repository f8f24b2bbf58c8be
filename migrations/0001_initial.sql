-- 0001: the event-sourced journal.
--
-- `events` is the source of truth and is append-only (enforced by triggers).
-- `workflows` and `steps` are derived tables: written in the same transaction
-- as the events that change them, and rebuildable from `events` alone
-- (`kinemactl verify` checks that they agree).

CREATE TABLE events (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  workflow_id  TEXT    NOT NULL,
  at_ms        INTEGER NOT NULL,            -- wall clock, ms since the Unix epoch (UTC)
  kind         TEXT    NOT NULL,            -- workflow_started, step_intent, step_result, ...
  step_index   INTEGER,                     -- NULL for workflow-level events
  step_name    TEXT,
  epoch        INTEGER NOT NULL DEFAULT 0,  -- leader epoch of the writer
  attempt      INTEGER NOT NULL DEFAULT 0,
  detail       TEXT    NOT NULL DEFAULT '{}' -- JSON
);
CREATE INDEX events_by_workflow ON events(workflow_id, seq);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;

CREATE TABLE workflows (
  id                 TEXT PRIMARY KEY,
  type               TEXT    NOT NULL,
  status             TEXT    NOT NULL CHECK (status IN ('running','paused','completed','aborted','failed')),
  created_ms         INTEGER NOT NULL,
  updated_ms         INTEGER NOT NULL,
  current_step       TEXT,
  current_step_index INTEGER,
  input              TEXT    NOT NULL DEFAULT '{}',
  last_error         TEXT,
  pause_reason       TEXT,
  abort_requested    INTEGER NOT NULL DEFAULT 0,
  terminated         INTEGER NOT NULL DEFAULT 0,
  last_seq           INTEGER NOT NULL
);

CREATE TABLE steps (
  workflow_id     TEXT    NOT NULL REFERENCES workflows(id),
  step_index      INTEGER NOT NULL,
  name            TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('pending','running','succeeded','failed','compensated','skipped')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  started_ms      INTEGER,
  finished_ms     INTEGER,
  error           TEXT,
  idempotency_key TEXT,
  epoch           INTEGER,
  result          TEXT,
  PRIMARY KEY (workflow_id, step_index)
);
