#include "storage/journal_queries.h"

#include <set>

#include "engine/common/safe_json.h"
#include "storage/sqlite_env.h"

namespace kinema::journal_sql {

namespace {
std::string NullableText(SQLite::Column c) { return c.isNull() ? std::string() : c.getString(); }

// JSON text from a row. A damaged or hostile file may hold anything: what
// does not parse becomes {"unparseable": true} (never a `discarded` value,
// which would print as invalid JSON).
nlohmann::json JsonColumn(SQLite::Column c) {
  auto j = safe_json::Parse(c.getString());
  if (j.is_discarded()) j = nlohmann::json{{"unparseable", true}};
  return j;
}
int64_t NullableInt(SQLite::Column c) { return c.isNull() ? 0 : c.getInt64(); }

// Status text from a derived-table row. The schema's CHECK admits only the
// journal's words, but a damaged or hostile file may have no such CHECK.
WorkflowStatus WorkflowStatusColumn(SQLite::Column c, const std::string& workflow_id) {
  auto s = ParseWorkflowStatus(c.getString());
  if (!s.ok()) throw CorruptRow("workflows row " + workflow_id + ": " + s.status().message());
  return *s;
}
StepStatus StepStatusColumn(SQLite::Column c, const std::string& workflow_id, int step_index) {
  auto s = ParseStepStatus(c.getString());
  if (!s.ok()) {
    throw CorruptRow("steps row " + workflow_id + "/" + std::to_string(step_index) + ": " + s.status().message());
  }
  return *s;
}
}  // namespace

Event EventFromRow(SQLite::Statement& q) {
  Event e;
  e.seq = q.getColumn(0).getInt64();
  e.workflow_id = q.getColumn(1).getString();
  e.at_ms = q.getColumn(2).getInt64();
  e.kind = q.getColumn(3).getString();
  e.step_index = q.getColumn(4).isNull() ? -1 : q.getColumn(4).getInt();
  e.step_name = NullableText(q.getColumn(5));
  e.epoch = q.getColumn(6).getInt64();
  e.attempt = q.getColumn(7).getInt();
  e.detail = JsonColumn(q.getColumn(8));
  return e;
}

SQLite::Statement& StatementCache::Get(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    it = statements_.emplace(sql, std::make_unique<SQLite::Statement>(db_, sql)).first;
  } else {
    it->second->reset();
    it->second->clearBindings();
  }
  return *it->second;
}

namespace {
// Executes a cached statement and resets it even when it throws, so a
// failed statement never keeps a snapshot or a lock.
void ExecAndReset(SQLite::Statement& st) {
  try {
    st.exec();
  } catch (...) {
    try {
      st.reset();
    } catch (...) {
    }
    throw;
  }
  st.reset();
}
}  // namespace

void StatementCache::Exec(const char* sql) { ExecAndReset(Get(sql)); }

int64_t InsertEvent(StatementCache& sc, const Event& e) {
  SQLite::Statement& ins =
      sc.Get("INSERT INTO events(workflow_id, at_ms, kind, step_index, step_name, epoch, attempt, detail) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, e.workflow_id);
  ins.bind(2, static_cast<int64_t>(e.at_ms));
  ins.bind(3, e.kind);
  if (e.step_index >= 0) {
    ins.bind(4, e.step_index);
    ins.bind(5, e.step_name);
  } else {
    ins.bind(4);
    ins.bind(5);
  }
  ins.bind(6, static_cast<int64_t>(e.epoch));
  ins.bind(7, e.attempt);
  ins.bind(8, safe_json::Dump(e.detail));
  ExecAndReset(ins);
  return sc.db().getLastInsertRowid();
}

namespace {
const std::string& EventsOfSql() {
  static const std::string sql =
      std::string("SELECT ") + kEventColumns + " FROM events WHERE workflow_id = ? ORDER BY seq";
  return sql;
}

std::vector<Event> ReadEvents(SQLite::Statement& q, const std::string& workflow_id) {
  q.bind(1, workflow_id);
  std::vector<Event> out;
  try {
    while (q.executeStep()) out.push_back(EventFromRow(q));
  } catch (...) {
    q.reset();
    throw;
  }
  q.reset();
  return out;
}

std::optional<WorkflowView> Fold(const std::vector<Event>& events, Status* fold_error) {
  if (events.empty()) return std::nullopt;
  WorkflowView v;
  for (const Event& e : events) {
    Status s = ApplyEvent(&v, e);
    if (!s.ok() && fold_error != nullptr && fold_error->ok()) {
      *fold_error = s.WithContext("event seq " + std::to_string(e.seq));
    }
  }
  return v;
}
}  // namespace

std::vector<Event> EventsOf(SQLite::Database& db, const std::string& workflow_id) {
  SQLite::Statement q(db, EventsOfSql());
  return ReadEvents(q, workflow_id);
}

std::optional<WorkflowView> FoldWorkflow(SQLite::Database& db, const std::string& workflow_id, Status* fold_error) {
  return Fold(EventsOf(db, workflow_id), fold_error);
}

std::optional<WorkflowView> FoldWorkflow(StatementCache& sc, const std::string& workflow_id, Status* fold_error) {
  return Fold(ReadEvents(sc.Get(EventsOfSql().c_str()), workflow_id), fold_error);
}

std::optional<WorkflowView> ReadDerived(SQLite::Database& db, const std::string& workflow_id) {
  SQLite::Statement q(db,
                      "SELECT id, type, status, created_ms, updated_ms, input, last_error, pause_reason, "
                      "abort_requested, terminated, last_seq, outcome FROM workflows WHERE id = ?");
  q.bind(1, workflow_id);
  if (!q.executeStep()) return std::nullopt;
  WorkflowView v;
  v.id = q.getColumn(0).getString();
  v.type = q.getColumn(1).getString();
  v.status = WorkflowStatusColumn(q.getColumn(2), v.id);
  v.created_ms = q.getColumn(3).getInt64();
  v.updated_ms = q.getColumn(4).getInt64();
  v.input = JsonColumn(q.getColumn(5));
  v.last_error = NullableText(q.getColumn(6));
  v.pause_reason = NullableText(q.getColumn(7));
  v.abort_requested = q.getColumn(8).getInt() != 0;
  v.terminated = q.getColumn(9).getInt() != 0;
  v.last_seq = q.getColumn(10).getInt64();
  v.outcome = NullableText(q.getColumn(11));

  SQLite::Statement s(db,
                      "SELECT step_index, name, status, attempts, started_ms, finished_ms, error, idempotency_key, "
                      "epoch, result FROM steps WHERE workflow_id = ? ORDER BY step_index");
  s.bind(1, workflow_id);
  while (s.executeStep()) {
    StepView st;
    st.index = s.getColumn(0).getInt();
    st.name = s.getColumn(1).getString();
    st.status = StepStatusColumn(s.getColumn(2), workflow_id, st.index);
    st.attempts = s.getColumn(3).getInt();
    st.started_ms = NullableInt(s.getColumn(4));
    st.finished_ms = NullableInt(s.getColumn(5));
    st.error = NullableText(s.getColumn(6));
    st.idempotency_key = NullableText(s.getColumn(7));
    st.epoch = NullableInt(s.getColumn(8));
    st.result = s.getColumn(9).isNull() ? nlohmann::json() : JsonColumn(s.getColumn(9));
    v.steps.push_back(std::move(st));
  }
  if (db.tableExists("timers")) {  // absent in journals made before migration 2
    SQLite::Statement t(db, "SELECT name, deadline_ms FROM timers WHERE workflow_id = ? ORDER BY name");
    t.bind(1, workflow_id);
    while (t.executeStep()) v.timers[t.getColumn(0).getString()] = t.getColumn(1).getInt64();
  }
  return v;
}

void DerivedChange::Note(const Event& e) {
  using namespace event_kind;
  if (e.kind == kCompleted || e.kind == kAborted || e.kind == kTerminated || e.kind == kWorkflowStarted ||
      e.kind == kResumed) {
    all_steps = true;
  }
  if (e.kind == kTimerSet) timers = true;
  if (e.step_index >= 0) steps.insert(e.step_index);
}

namespace {
void BindCurrentStep(SQLite::Statement& st, int name_index, const WorkflowView& v) {
  int cur = v.CurrentStepIndex();
  if (cur >= 0) {
    st.bind(name_index, v.steps[cur].name);
    st.bind(name_index + 1, cur);
  } else {
    st.bind(name_index);
    st.bind(name_index + 1);
  }
}
void BindTextOrNull(SQLite::Statement& st, int index, const std::string& text) {
  if (text.empty()) {
    st.bind(index);
  } else {
    st.bind(index, text);
  }
}

// The whole workflow row (new, or status/type/created_ms changed).
void UpsertWorkflowRow(StatementCache& sc, const WorkflowView& v) {
  SQLite::Statement& w =
      sc.Get("INSERT INTO workflows(id, type, status, created_ms, updated_ms, current_step, "
             "current_step_index, input, last_error, pause_reason, abort_requested, terminated, last_seq, outcome) "
             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET type=excluded.type, "
             "status=excluded.status, created_ms=excluded.created_ms, updated_ms=excluded.updated_ms, "
             "current_step=excluded.current_step, current_step_index=excluded.current_step_index, "
             "input=excluded.input, last_error=excluded.last_error, pause_reason=excluded.pause_reason, "
             "abort_requested=excluded.abort_requested, terminated=excluded.terminated, "
             "last_seq=excluded.last_seq, outcome=excluded.outcome");
  w.bind(1, v.id);
  w.bind(2, v.type);
  w.bind(3, WorkflowStatusName(v.status));
  w.bind(4, static_cast<int64_t>(v.created_ms));
  w.bind(5, static_cast<int64_t>(v.updated_ms));
  BindCurrentStep(w, 6, v);
  w.bind(8, safe_json::Dump(v.input));
  BindTextOrNull(w, 9, v.last_error);
  BindTextOrNull(w, 10, v.pause_reason);
  w.bind(11, v.abort_requested ? 1 : 0);
  w.bind(12, v.terminated ? 1 : 0);
  w.bind(13, static_cast<int64_t>(v.last_seq));
  BindTextOrNull(w, 14, v.outcome);
  ExecAndReset(w);
}

// The columns an event may change without changing the indexed ones
// (type, status, created_ms; input is set once, by workflow_started).
void UpdateWorkflowRow(StatementCache& sc, const WorkflowView& v) {
  SQLite::Statement& w =
      sc.Get("UPDATE workflows SET updated_ms = ?, current_step = ?, current_step_index = ?, last_error = ?, "
             "pause_reason = ?, abort_requested = ?, terminated = ?, last_seq = ?, outcome = ? WHERE id = ?");
  w.bind(1, static_cast<int64_t>(v.updated_ms));
  BindCurrentStep(w, 2, v);
  BindTextOrNull(w, 4, v.last_error);
  BindTextOrNull(w, 5, v.pause_reason);
  w.bind(6, v.abort_requested ? 1 : 0);
  w.bind(7, v.terminated ? 1 : 0);
  w.bind(8, static_cast<int64_t>(v.last_seq));
  BindTextOrNull(w, 9, v.outcome);
  w.bind(10, v.id);
  ExecAndReset(w);
}
}  // namespace

void WriteDerived(StatementCache& sc, const WorkflowView& v, const DerivedChange* change) {
  if (change == nullptr || change->workflow_keys) {
    UpsertWorkflowRow(sc, v);
  } else {
    UpdateWorkflowRow(sc, v);
    if (sc.db().getChanges() == 0) UpsertWorkflowRow(sc, v);  // the row was missing: write it whole
  }

  const char* kUpsertStep =
      "INSERT INTO steps(workflow_id, step_index, name, status, attempts, started_ms, finished_ms, "
                      "error, idempotency_key, epoch, result) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                      "ON CONFLICT(workflow_id, step_index) DO UPDATE SET name=excluded.name, "
                      "status=excluded.status, attempts=excluded.attempts, started_ms=excluded.started_ms, "
                      "finished_ms=excluded.finished_ms, error=excluded.error, "
      "idempotency_key=excluded.idempotency_key, epoch=excluded.epoch, result=excluded.result";
  for (const StepView& st : v.steps) {
    if (change && !change->all_steps && !change->steps.count(st.index)) continue;
    SQLite::Statement& s = sc.Get(kUpsertStep);
    s.bind(1, v.id);
    s.bind(2, st.index);
    s.bind(3, st.name);
    s.bind(4, StepStatusName(st.status));
    s.bind(5, st.attempts);
    if (st.started_ms) s.bind(6, static_cast<int64_t>(st.started_ms)); else s.bind(6);
    if (st.finished_ms) s.bind(7, static_cast<int64_t>(st.finished_ms)); else s.bind(7);
    if (st.error.empty()) s.bind(8); else s.bind(8, st.error);
    if (st.idempotency_key.empty()) s.bind(9); else s.bind(9, st.idempotency_key);
    if (st.epoch) s.bind(10, static_cast<int64_t>(st.epoch)); else s.bind(10);
    if (st.result.is_null()) s.bind(11); else s.bind(11, safe_json::Dump(st.result));
    ExecAndReset(s);
  }
  if (v.timers.empty() || (change && !change->timers)) return;
  for (const auto& [name, deadline] : v.timers) {
    SQLite::Statement& t = sc.Get("INSERT INTO timers(workflow_id, name, deadline_ms) VALUES (?,?,?) "
                                  "ON CONFLICT(workflow_id, name) DO UPDATE SET deadline_ms=excluded.deadline_ms");
    t.bind(1, v.id);
    t.bind(2, name);
    t.bind(3, static_cast<int64_t>(deadline));
    ExecAndReset(t);
  }
}

std::vector<std::string> WorkflowIdsWithStatus(SQLite::Database& db, WorkflowStatus status) {
  SQLite::Statement q(db, "SELECT id FROM workflows WHERE status = ? ORDER BY created_ms, id");
  q.bind(1, WorkflowStatusName(status));
  std::vector<std::string> ids;
  while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
  return ids;
}

namespace {

constexpr const char* kSummaryColumns =
    "id, type, status, created_ms, updated_ms, current_step, last_error, pause_reason, abort_requested, outcome, "
    "terminated";

WorkflowSummary SummaryFromRow(SQLite::Statement& q) {
  WorkflowSummary s;
  s.id = q.getColumn(0).getString();
  s.type = q.getColumn(1).getString();
  s.status = WorkflowStatusColumn(q.getColumn(2), s.id);
  s.created_ms = q.getColumn(3).getInt64();
  s.updated_ms = q.getColumn(4).getInt64();
  s.current_step = q.getColumn(5).isNull() ? "" : q.getColumn(5).getString();
  s.last_error = q.getColumn(6).isNull() ? "" : q.getColumn(6).getString();
  s.pause_reason = q.getColumn(7).isNull() ? "" : q.getColumn(7).getString();
  s.abort_requested = q.getColumn(8).getInt() != 0;
  s.outcome = q.getColumn(9).isNull() ? "" : q.getColumn(9).getString();
  s.terminated = q.getColumn(10).getInt() != 0;
  return s;
}

}  // namespace

std::vector<WorkflowSummary> ListWorkflows(SQLite::Database& db, std::optional<WorkflowStatus> status,
                                           const std::string& type) {
  SQLite::Statement q(db, std::string("SELECT ") + kSummaryColumns +
                              " FROM workflows WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR type = ?2) "
                              "ORDER BY created_ms, id");
  q.bind(1, status ? WorkflowStatusName(*status) : "");
  q.bind(2, type);
  std::vector<WorkflowSummary> out;
  while (q.executeStep()) out.push_back(SummaryFromRow(q));
  return out;
}

std::vector<std::string> WorkflowIdsUpdatedSince(SQLite::Database& db, int64_t since_ms) {
  SQLite::Statement q(db, "SELECT id FROM workflows WHERE updated_ms >= ? ORDER BY updated_ms, id");
  q.bind(1, static_cast<int64_t>(since_ms));
  std::vector<std::string> ids;
  while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
  return ids;
}

std::vector<WorkflowSummary> UnfinishedWorkflows(SQLite::Database& db) {
  SQLite::Statement q(db, std::string("SELECT ") + kSummaryColumns +
                              " FROM workflows WHERE status IN ('running', 'paused') OR "
                              "(status = 'failed' AND terminated = 0) ORDER BY created_ms, id");
  std::vector<WorkflowSummary> out;
  while (q.executeStep()) out.push_back(SummaryFromRow(q));
  return out;
}

std::vector<std::string> PrunableWorkflows(SQLite::Database& db, int64_t ended_before_ms, int limit) {
  SQLite::Statement q(db,
                      "SELECT w.id FROM workflows w WHERE w.updated_ms < ?1 AND "
                      "(w.status IN ('completed', 'aborted') OR (w.status = 'failed' AND w.terminated = 1)) AND "
                      "NOT EXISTS (SELECT 1 FROM events e WHERE e.workflow_id = w.id AND ("
                      "  (e.kind = 'step_intent' AND COALESCE(json_extract(e.detail, '$.journalOnly'), 0) != 1) OR "
                      "  e.kind IN ('disruption_claimed', 'kind_requested', 'compensation_intent'))) "
                      "ORDER BY w.updated_ms LIMIT ?2");
  q.bind(1, static_cast<int64_t>(ended_before_ms));
  q.bind(2, limit);
  std::vector<std::string> ids;
  while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
  return ids;
}

void PruneWorkflow(SQLite::Database& db, const std::string& id, int64_t now_ms) {
  SQLite::Statement rec(db,
                        "INSERT OR REPLACE INTO pruned(id, type, status, outcome, created_ms, ended_ms, events, pruned_ms) "
                        "SELECT id, type, status, outcome, created_ms, updated_ms, "
                        "(SELECT COUNT(*) FROM events WHERE workflow_id = ?1), ?2 FROM workflows WHERE id = ?1");
  rec.bind(1, id);
  rec.bind(2, static_cast<int64_t>(now_ms));
  rec.exec();
  for (const char* sql : {"DELETE FROM timers WHERE workflow_id = ?", "DELETE FROM steps WHERE workflow_id = ?",
                          "DELETE FROM workflows WHERE id = ?", "DELETE FROM events WHERE workflow_id = ?"}) {
    SQLite::Statement d(db, sql);
    d.bind(1, id);
    d.exec();
  }
}

std::vector<KindRequest> PendingKindRequests(SQLite::Database& db, int64_t since_ms) {
  std::set<std::string> consumed;
  {
    SQLite::Statement q(db, "SELECT detail FROM events WHERE kind = 'workflow_started' AND at_ms >= ?");
    q.bind(1, static_cast<int64_t>(since_ms));
    while (q.executeStep()) {
      const auto d = safe_json::Parse(q.getColumn(0).getString());
      const nlohmann::json* input = safe_json::FindObject(d, "input");
      const nlohmann::json* reqs = input != nullptr ? safe_json::FindArray(*input, "requests") : nullptr;
      if (reqs == nullptr) continue;
      for (const auto& r : *reqs) {
        if (auto id = safe_json::OptString(r, "requestId")) consumed.insert(*id);
      }
    }
  }
  std::vector<KindRequest> out;
  SQLite::Statement q(db, "SELECT at_ms, detail FROM events WHERE kind = 'kind_requested' AND at_ms >= ? ORDER BY seq");
  q.bind(1, static_cast<int64_t>(since_ms));
  while (q.executeStep()) {
    const auto d = safe_json::Parse(q.getColumn(1).getString());
    if (!d.is_object()) continue;
    KindRequest r;
    r.at_ms = q.getColumn(0).getInt64();
    r.id = safe_json::String(d, "requestId");
    r.target = safe_json::String(d, "target");
    const nlohmann::json* input = safe_json::Find(d, "input");
    r.input = input != nullptr ? *input : nlohmann::json();
    if (r.id.empty() || r.target.empty() || consumed.count(r.id)) continue;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace kinema::journal_sql
