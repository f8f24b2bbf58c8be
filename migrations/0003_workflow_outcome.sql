-- 0003: a completed workflow's outcome ("applied", "no_action", "discarded",
-- "unstable", ...), set when a step finishes the workflow early or by the
-- final step's result; derived from the `completed` event's detail.
ALTER TABLE workflows ADD COLUMN outcome TEXT;
