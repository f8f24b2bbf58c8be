#include "tools/kinemactl/commands.h"

#include <unistd.h>

#include <cstdio>
#include <set>
#include <cstdlib>
#include <iostream>

#include "engine/admin/admin_protocol.h"
#include "engine/common/flags.h"
#include "engine/kinds/kind_registry.h"
#include "steps/kinds.h"
#include "engine/common/safe_json.h"
#include "engine/common/text.h"
#include "engine/workflow/operator_commands.h"
#include "storage/journal_reader.h"
#include "storage/journal_writer.h"
#include "tools/kinemactl/catalog_command.h"
#include "tools/kinemactl/output.h"

#ifdef KINEMA_HAVE_PLAN
#include "tools/plan/plan_command.h"
#include "engine/common/time.h"
#endif

namespace kinema::ctl {

namespace {

const char* kUsage =
    "Usage: kinemactl [--db PATH] [--json] COMMAND [args]\n"
    "\n"
    "Inspect and operate Kinema's workflow journal.\n"
    "\n"
    "Reading (open the journal read-only, never block the controller):\n"
    "  list [--status S] [--type T]   workflows, oldest first\n"
    "  show ID                        one workflow: steps and events\n"
    "  explain ID                     why it did what it did: per node, per moved pod, the budget\n"
    "  events ID                      the workflow's journal events\n"
    "  export ID                      events as JSON lines\n"
    "  verify                         SQLite integrity + journal invariants (exit 0 iff ok)\n"
    "  backup FILE                    consistent copy of the journal (VACUUM INTO; safe while running)\n"
    "Operating (sent to the running controller over its admin socket; applied\n"
    "directly under the writer lock when no controller runs):\n"
    "  abort ID --reason TEXT         cooperative abort, compensations run\n"
    "  resume ID --reason TEXT        continue a paused or failed workflow\n"
    "  pause ID --reason TEXT         stop at the next safe point\n"
    "  terminate ID --reason TEXT     forced stop, no compensation\n"
    "Cloud:\n"
    "  catalog --project P --region R  catalog file from the live Compute and Billing APIs (kinemactl catalog --help)\n"
#ifdef KINEMA_HAVE_PLAN
    "Planning:\n"
    "  plan --snapshot S --catalog C  offline placement plan (see kinemactl plan --help)\n"
#endif
    "\n"
    "Exit codes: 0 ok, 1 refused, 2 usage error, 4 unknown workflow id.\n"
    "\nFlags:\n";

int Fail(int code, const std::string& msg) {
  std::fprintf(stderr, "kinemactl: %s\n", msg.c_str());
  return code;
}

int ExitFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound:
      return s.subcode() == Status::SubCode::kUnknownWorkflow ? kExitUnknownId : kExitUsage;
    case Status::Code::kFailedPrecondition:
      return kExitRefused;
    case Status::Code::kInvalidArgument:
    case Status::Code::kCorruption:
      return kExitUsage;
    default:
      return kExitRefused;
  }
}

std::string DefaultDb() {
  const char* env = std::getenv("KINEMA_DB");
  return env && *env ? env : "/var/lib/kinema/kinema.db";
}

std::string DefaultIdentity() {
  const char* user = std::getenv("USER");
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(user && *user ? user : std::to_string(::getuid())) + "@" + host;
}

// Journal text may hold invalid UTF-8 (a damaged file): replaced, never thrown on.
void PrintJson(const nlohmann::json& j) { std::cout << safe_json::Dump(j, 2) << "\n"; }

int OpenReader(const std::string& db, std::unique_ptr<JournalReader>* out) {
  auto r = JournalReader::Open(db);
  if (!r.ok()) {
    const Status& s = r.status();
    // A missing or foreign file is a usage problem with --db, not an unknown id.
    return Fail(s.code() == Status::Code::kFailedPrecondition ? kExitRefused : kExitUsage, s.message());
  }
  *out = std::move(*r);
  return kExitOk;
}

int CmdList(const FlagSet& f, const std::string& db, bool json) {
  ListFilter filter;
  filter.type = f.Get("type");
  if (f.IsSet("status")) {
    auto status = ParseWorkflowStatus(f.Get("status"));
    if (!status.ok()) return Fail(kExitUsage, "--status: " + status.status().message());
    filter.status = *status;
  }
  std::unique_ptr<JournalReader> r;
  if (int rc = OpenReader(db, &r)) return rc;
  auto list = r->List(filter);
  if (!list.ok()) return Fail(ExitFor(list.status()), list.status().message());
  if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& s : *list) a.push_back(SummaryJson(s));
    PrintJson(a);
    return kExitOk;
  }
  int64_t now = NowMs();
  Table t({"ID", "TYPE", "STATUS", "CURRENT STEP", "CREATED", "UPDATED", "NOTE"});
  for (const auto& s : *list) {
    std::string note = !s.pause_reason.empty() ? s.pause_reason
                       : (s.abort_requested && s.status == WorkflowStatus::kRunning) ? "abort requested"
                       : !s.outcome.empty() ? s.outcome
                                            : s.last_error;
    if (note.size() > 80) note = std::string(Utf8Prefix(note, 77)) + "...";
    if (BlocksItsKind(s)) note = "BLOCKS new " + s.type + " workflows; " + note;
    t.AddRow({s.id, s.type, WorkflowStatusName(s.status), s.current_step.empty() ? "-" : s.current_step, RelativeTime(s.created_ms, now),
              RelativeTime(s.updated_ms, now), note});
  }
  std::cout << t.Render(StdoutIsColourTerminal(), 2);
  if (list->empty()) std::cout << "(no workflows)\n";
  return kExitOk;
}

int CmdShow(const std::string& id, const std::string& db, bool json) {
  std::unique_ptr<JournalReader> r;
  if (int rc = OpenReader(db, &r)) return rc;
  auto v = r->Get(id);
  if (!v.ok()) return Fail(ExitFor(v.status()), v.status().message());
  auto ev = r->Events(id);
  if (!ev.ok()) return Fail(ExitFor(ev.status()), ev.status().message());
  if (json) PrintJson(ShowJson(*v, *ev));
  else std::cout << ShowText(*v, *ev, StdoutIsColourTerminal(), NowMs());
  return kExitOk;
}

// Why a workflow did what it did, from the journal alone: its kind explains
// it (WorkflowKind::Explain); a type this build does not know gets the
// generic explanation.
int CmdExplain(const std::string& id, const std::string& db, bool json) {
  std::unique_ptr<JournalReader> r;
  if (int rc = OpenReader(db, &r)) return rc;
  auto v = r->Fold(id);
  if (!v.ok()) return Fail(ExitFor(v.status()), v.status().message());
  KindRegistry kinds;
  Status rs = RegisterKinds(&kinds);
  if (!rs.ok()) return Fail(kExitRefused, rs.message());
  const WorkflowKind* kind = kinds.Find(v->type);
  Explanation e = kind ? kind->Explain(*v) : GenericExplanation(*v);
  if (json) PrintJson(e.ToJson());
  else std::cout << e.ToText();
  return kExitOk;
}

int CmdEvents(const std::string& id, const std::string& db, bool json, bool jsonl) {
  std::unique_ptr<JournalReader> r;
  if (int rc = OpenReader(db, &r)) return rc;
  auto ev = r->Events(id);
  if (!ev.ok()) return Fail(ExitFor(ev.status()), ev.status().message());
  if (jsonl) {
    for (const auto& e : *ev) std::cout << safe_json::Dump(EventJson(e)) << "\n";
  } else if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : *ev) a.push_back(EventJson(e));
    PrintJson(a);
  } else {
    Table t({"SEQ", "AT", "KIND", "STEP", "ATTEMPT", "EPOCH", "DETAIL"});
    for (const auto& e : *ev) {
      t.AddRow({std::to_string(e.seq), FormatRfc3339(e.at_ms), e.kind, e.step_name,
                e.attempt ? std::to_string(e.attempt) : "", std::to_string(e.epoch), safe_json::Dump(e.detail)});
    }
    std::cout << t.Render(false, -1);
  }
  return kExitOk;
}

int CmdVerify(const std::string& db, bool json) {
  std::unique_ptr<JournalReader> r;
  if (int rc = OpenReader(db, &r)) return rc;
  auto checks = r->Verify();
  if (!checks.ok()) return Fail(kExitRefused, checks.status().message());
  bool ok = true;
  for (const auto& c : *checks) ok = ok && c.ok;
  if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& c : *checks) a.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    PrintJson({{"ok", ok}, {"checks", a}});
  } else {
    bool colour = StdoutIsColourTerminal();
    for (const auto& c : *checks) {
      std::string mark = c.ok ? "ok  " : "FAIL";
      if (colour) mark = (c.ok ? "\033[32m" : "\033[31m") + mark + "\033[0m";
      std::cout << mark << "  " << c.name << ": " << c.detail << "\n";
    }
    std::cout << (ok ? "journal verified\n" : "journal has problems\n");
  }
  return ok ? kExitOk : kExitRefused;
}

int PrintOutcome(const std::string& id, bool accepted, const std::string& status, const std::string& message,
                 const std::string& via, bool json) {
  if (json) {
    PrintJson({{"id", id}, {"accepted", accepted}, {"status", status}, {"message", message}, {"via", via}});
  } else {
    std::cout << id << ": " << message << " (status " << status << ", via " << via << ")\n";
  }
  return kExitOk;
}

int CmdOperate(const std::string& command, const std::string& id, const FlagSet& f, const std::string& db,
               bool json) {
  if (!f.IsSet("reason") || f.Get("reason").empty()) return Fail(kExitUsage, command + " needs --reason TEXT");
  {
    // Validate the file and the id read-only first: bad input never writes.
    std::unique_ptr<JournalReader> r;
    if (int rc = OpenReader(db, &r)) return rc;
    auto v = r->Get(id);
    if (!v.ok()) return Fail(ExitFor(v.status()), v.status().message());
  }
  std::string identity = f.IsSet("identity") ? f.Get("identity") : DefaultIdentity();
  std::string socket = f.IsSet("socket") ? f.Get("socket") : AdminSocketPathFor(db);

  nlohmann::json req = {{"command", command}, {"id", id}, {"reason", f.Get("reason")}, {"identity", identity}};
  auto reply = SendAdminRequest(socket, req, 15000);
  if (reply.ok()) {
    const nlohmann::json& j = *reply;
    if (!safe_json::Bool(j, "ok")) {
      Status::Code code = Status::CodeFromName(safe_json::String(j, "code", "Internal"));
      std::string err = safe_json::String(j, "error", "refused");
      if (json) PrintJson({{"id", id}, {"accepted", false}, {"error", err}, {"via", "admin-socket"}});
      return Fail(code == Status::Code::kNotFound ? kExitUnknownId : kExitRefused, err);
    }
    return PrintOutcome(id, safe_json::Bool(j, "accepted"), safe_json::String(j, "status"),
                        safe_json::String(j, "message"),
                        "admin-socket", json);
  }
  if (reply.status().code() == Status::Code::kDeadlineExceeded) {
    return Fail(kExitRefused, reply.status().message());
  }
  // Nobody answers: apply directly, which requires the writer lock (proof
  // that no controller runs).
  JournalWriterOptions wo;
  auto w = JournalWriter::Open(db, wo);
  if (!w.ok()) {
    return Fail(kExitRefused, "no controller answers on " + socket + ", and the journal cannot be opened for writing: " +
                                  w.status().message());
  }
  OperatorCommand cmd{command, id, f.Get("reason"), identity, "direct"};
  auto out = ApplyOperatorCommand(w->get(), (*w)->FenceEpoch(), cmd);
  if (!out.ok()) {
    if (json) PrintJson({{"id", id}, {"accepted", false}, {"error", out.status().message()}, {"via", "direct"}});
    return Fail(ExitFor(out.status()), out.status().message());
  }
  std::string msg = out->message;
  if (command == "abort" || command == "resume") msg += " (no controller running: applied to the journal; it takes effect when the controller starts)";
  return PrintOutcome(id, out->accepted, WorkflowStatusName(out->status), msg, "direct", json);
}

}  // namespace

int RunKinemactl(const std::vector<std::string>& args) {
  // `catalog` has its own flags (like `plan`); --json before it is accepted
  // and ignored (its output is JSON).
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "catalog") {
      return RunCatalogCommand(std::vector<std::string>(args.begin() + static_cast<long>(i) + 1, args.end()));
    }
    if (args[i] != "--json") break;
  }
#ifdef KINEMA_HAVE_PLAN
  // `plan` has its own flags; everything after the word goes to it.
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "plan") {
      std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
      // Global flags before "plan" are accepted only if they are --json.
      for (size_t k = 0; k < i; ++k) {
        if (args[k] == "--json") rest.push_back("--json");
        else return Fail(kExitUsage, "unexpected '" + args[k] + "' before plan");
      }
      return RunPlanCommand(rest);
    }
  }
#endif
  FlagSet f;
  f.AddString("db", DefaultDb(), "journal file (env KINEMA_DB)");
  f.AddBool("json", "machine-readable output");
  f.AddString("status", "", "list: only workflows with this status");
  f.AddString("type", "", "list: only workflows of this type");
  f.AddString("reason", "", "abort/resume/pause/terminate: why (journaled)");
  f.AddString("identity", "", "who is acting (default $USER@hostname; journaled)");
  f.AddString("socket", "", "controller admin socket (default <db>.sock)");
  f.AddBool("help", "show this help");
  Status ps = f.Parse(args, 2);
  if (!ps.ok()) return Fail(kExitUsage, ps.message() + " (see kinemactl --help)");
  if (f.GetBool("help")) {
    std::cout << kUsage << f.Usage();
    return kExitOk;
  }
  const auto& pos = f.positionals();
  if (pos.empty()) return Fail(kExitUsage, "missing command (see kinemactl --help)");
  const std::string& cmd = pos[0];
  std::string db = f.Get("db");
  bool json = f.GetBool("json");
  auto need_id = [&](std::string* id) -> bool {
    if (pos.size() != 2) return false;
    *id = pos[1];
    return true;
  };
  std::string id;
  if (cmd == "list" || cmd == "verify") {
    if (pos.size() != 1) return Fail(kExitUsage, cmd + " takes no arguments");
    return cmd == "list" ? CmdList(f, db, json) : CmdVerify(db, json);
  }
  if (cmd == "backup") {
    if (pos.size() != 2) return Fail(kExitUsage, "backup needs exactly one target FILE");
    std::unique_ptr<JournalReader> r;
    if (int rc = OpenReader(db, &r)) return rc;
    Status st = r->BackupTo(pos[1]);
    if (!st.ok()) return Fail(st.code() == Status::Code::kAlreadyExists ? kExitRefused : ExitFor(st), st.message());
    if (json) {
      PrintJson({{"backup", pos[1]}, {"ok", true}});
    } else {
      std::cout << "journal " << db << " backed up to " << pos[1] << "\n";
    }
    return kExitOk;
  }
  if (cmd == "show" || cmd == "explain" || cmd == "events" || cmd == "export" || cmd == "abort" || cmd == "resume" ||
      cmd == "pause" || cmd == "terminate") {
    if (!need_id(&id)) return Fail(kExitUsage, cmd + " needs exactly one workflow ID");
    if (cmd == "show") return CmdShow(id, db, json);
    if (cmd == "explain") return CmdExplain(id, db, json);
    if (cmd == "events") return CmdEvents(id, db, json, false);
    if (cmd == "export") return CmdEvents(id, db, json, true);
    return CmdOperate(cmd, id, f, db, json);
  }
  return Fail(kExitUsage, "unknown command '" + cmd + "' (see kinemactl --help)");
}

}  // namespace kinema::ctl
