// pkiflow/pkiflow.h on pkiflow::Engine: JSON in and out, status codes, no exception across.
#include "pkiflow/pkiflow.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "pkiflow/engine.hpp"

#define PKIFLOW_EXPORT extern "C" __attribute__((visibility("default")))

struct pkiflow_engine {
  explicit pkiflow_engine(pkiflow::Engine e) : engine(std::move(e)) {}
  pkiflow::Engine engine;
  std::string last_error;
  std::mutex run_mutex;  // guards `run`: pkiflow_cancel comes from any thread
  std::optional<pkiflow::CancelToken> run;
};

namespace {

using json = nlohmann::ordered_json;

pkiflow_status status_of(pkiflow::ErrorKind kind) {
  using K = pkiflow::ErrorKind;
  switch (kind) {
    case K::io:
      return PKIFLOW_ERR_IO;
    case K::parse:
      return PKIFLOW_ERR_PARSE;
    case K::passphrase:
      return PKIFLOW_ERR_PASSPHRASE;
    case K::unsupported:
      return PKIFLOW_ERR_UNSUPPORTED;
    case K::crypto:
      return PKIFLOW_ERR_CRYPTO;
    case K::unavailable:
    case K::not_sent:
      return PKIFLOW_ERR_UNAVAILABLE;
    case K::remote:
      return PKIFLOW_ERR_REMOTE;
    case K::auth:
      return PKIFLOW_ERR_AUTH;
    case K::busy:
      return PKIFLOW_ERR_BUSY;
    case K::invalid_input:
      return PKIFLOW_ERR_INVALID_INPUT;
  }
  return PKIFLOW_ERR_INTERNAL;
}

// A copy the caller releases with pkiflow_free (malloc: any C runtime's free would do too).
char* give(const std::string& text) {
  auto* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

// Runs `body` (which fills `out` and returns a Result's status), turning errors and exceptions
// into a status and the engine's message.
template <class Body>
pkiflow_status guarded(pkiflow_engine* e, char** out, Body&& body) {
  if (!e) return PKIFLOW_ERR_INVALID_INPUT;
  e->last_error.clear();
  if (out) *out = nullptr;
  try {
    std::string text;
    std::optional<pkiflow::Error> error = body(text);
    if (error) {
      e->last_error = error->what();
      return status_of(error->kind());
    }
    if (out) {
      *out = give(text);
      if (!*out) {
        e->last_error = "out of memory";
        return PKIFLOW_ERR_INTERNAL;
      }
    }
    return PKIFLOW_OK;
  } catch (const std::exception& ex) {
    e->last_error = std::string("internal error: ") + ex.what();
  } catch (...) {
    e->last_error = "internal error";
  }
  return PKIFLOW_ERR_INTERNAL;
}

pkiflow::Error bad_json(const char* what, const std::string& why) {
  return pkiflow::Error(pkiflow::ErrorKind::invalid_input, what, why);
}

// A JSON object argument; NULL or "" is an empty object.
std::optional<json> object_arg(const char* text, const char* what, std::string& why) {
  if (!text || !*text) return json::object();
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    why = std::string(what) + " must be a JSON object";
    return std::nullopt;
  }
  return j;
}

json record_array(const std::vector<pkiflow::RecordInfo>& records) {
  auto out = json::array();
  for (const auto& r : records)
    out.push_back(json::parse(r.json));
  return out;
}

json request_json(const pkiflow::RequestResult& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"created", r.created},
          {"state", r.state},
          {"profile_changes", r.profile_changes}};
}

json transition_json(const pkiflow::Transition& t) {
  return {{"id", t.record_id},    {"name", t.name},   {"kind", t.kind},
          {"from", t.from},       {"to", t.to},       {"result", t.result},
          {"message", t.message}, {"drift", t.drift}, {"verified", t.verified}};
}

// A verb on one record whose result is a value `to_json` turns into JSON.
template <class Verb, class ToJson>
pkiflow_status record_verb(pkiflow_engine* e, const char* id, char** result_json, Verb verb,
                           ToJson to_json) {
  return guarded(e, result_json, [&](std::string& out) -> std::optional<pkiflow::Error> {
    if (!id) return bad_json("id", "is NULL");
    auto r = verb(std::string(id));
    if (!r) return r.error();
    out = to_json(*r);
    return std::nullopt;
  });
}

std::string record_text(const pkiflow::RecordInfo& r) {
  return r.json;
}

// The successor, as `pkiflow renew --json` prints it (the record and "profile_changes").
std::string renewed_text(const pkiflow::Renewed& r) {
  auto j = json::parse(r.successor.json);
  j["profile_changes"] = r.profile_changes;
  return j.dump();
}

std::string transition_text(const pkiflow::Transition& t) {
  return transition_json(t).dump();
}

// As `pkiflow history --json` prints it.
std::string history_text(const std::vector<pkiflow::HistoryItem>& rows) {
  auto arr = json::array();
  for (const auto& h : rows)
    arr.push_back({{"seq", h.seq},
                   {"at", h.at},
                   {"from", h.from.empty() ? json(nullptr) : json(h.from)},
                   {"to", h.to},
                   {"actor", h.actor},
                   {"reason", h.reason},
                   {"details", json::parse(h.details_json, nullptr, false)}});
  return arr.dump();
}

}  // namespace

PKIFLOW_EXPORT int pkiflow_abi_version(void) {
  return PKIFLOW_ABI_VERSION;
}

PKIFLOW_EXPORT pkiflow_status pkiflow_open(const char* options_json, pkiflow_engine** engine,
                                           char** error) {
  if (error) *error = nullptr;
  if (!engine) return PKIFLOW_ERR_INVALID_INPUT;
  *engine = nullptr;
  auto fail = [error](pkiflow_status s, const std::string& why) {
    if (error) *error = give(why);
    return s;
  };
  try {
    std::string why;
    auto o = object_arg(options_json, "options", why);
    if (!o) return fail(PKIFLOW_ERR_INVALID_INPUT, why);
    pkiflow::EngineOptions opt;
    for (auto it = o->begin(); it != o->end(); ++it) {
      const auto& k = it.key();
      const auto& v = it.value();
      if (k == "allow_insecure_permissions" || k == "find_config") {
        if (!v.is_boolean())
          return fail(PKIFLOW_ERR_INVALID_INPUT, "options: \"" + k + "\" must be true or false");
        (k == "find_config" ? opt.find_config : opt.allow_insecure_permissions) = v.get<bool>();
        continue;
      }
      std::string* field = k == "config_file"   ? &opt.config_file
                           : k == "config_json" ? &opt.config_json
                           : k == "config_name" ? &opt.config_name
                           : k == "state_url"   ? &opt.state_url
                           : k == "actor"       ? &opt.actor
                                                : nullptr;
      if (!field)
        return fail(PKIFLOW_ERR_INVALID_INPUT,
                    "options: unknown key \"" + k +
                        "\" (config_file, config_json, config_name, find_config, state_url, "
                        "actor, allow_insecure_permissions)");
      if (!v.is_string())
        return fail(PKIFLOW_ERR_INVALID_INPUT, "options: \"" + k + "\" must be a string");
      *field = v.get<std::string>();
    }
    auto opened = pkiflow::Engine::open(opt);
    if (!opened) return fail(status_of(opened.error().kind()), opened.error().what());
    *engine = new pkiflow_engine(std::move(*opened));
    return PKIFLOW_OK;
  } catch (const std::exception& ex) {
    return fail(PKIFLOW_ERR_INTERNAL, std::string("internal error: ") + ex.what());
  } catch (...) {
    return fail(PKIFLOW_ERR_INTERNAL, "internal error");
  }
}

PKIFLOW_EXPORT void pkiflow_close(pkiflow_engine* engine) {
  delete engine;
}

PKIFLOW_EXPORT const char* pkiflow_last_error(const pkiflow_engine* engine) {
  return engine ? engine->last_error.c_str() : "no engine";
}

PKIFLOW_EXPORT pkiflow_status pkiflow_request_configured(pkiflow_engine* e, char** result_json) {
  return guarded(e, result_json, [e](std::string& out) -> std::optional<pkiflow::Error> {
    auto r = e->engine.request_configured();
    if (!r) return r.error();
    auto arr = json::array();
    for (const auto& one : *r)
      arr.push_back(request_json(one));
    out = arr.dump();
    return std::nullopt;
  });
}

PKIFLOW_EXPORT pkiflow_status pkiflow_request(pkiflow_engine* e, const char* certificate_json,
                                              char** result_json) {
  return guarded(e, result_json, [&](std::string& out) -> std::optional<pkiflow::Error> {
    if (!certificate_json) return bad_json("certificate", "is NULL");
    auto r = e->engine.request(certificate_json);
    if (!r) return r.error();
    out = request_json(*r).dump();
    return std::nullopt;
  });
}

PKIFLOW_EXPORT pkiflow_status pkiflow_status_json(pkiflow_engine* e, int include_retired,
                                                  char** records_json) {
  return guarded(e, records_json, [&](std::string& out) -> std::optional<pkiflow::Error> {
    pkiflow::StatusFilter filter;
    filter.include_retired = include_retired != 0;
    auto r = e->engine.status(filter);
    if (!r) return r.error();
    out = record_array(*r).dump();
    return std::nullopt;
  });
}

PKIFLOW_EXPORT pkiflow_status pkiflow_show(pkiflow_engine* e, const char* id, char** record_json) {
  return record_verb(
      e, id, record_json, [e](const std::string& i) { return e->engine.show(i); }, record_text);
}

PKIFLOW_EXPORT pkiflow_status pkiflow_history(pkiflow_engine* e, const char* id,
                                              char** history_json) {
  return record_verb(
      e, id, history_json, [e](const std::string& i) { return e->engine.history(i); },
      history_text);
}

PKIFLOW_EXPORT pkiflow_status pkiflow_run(pkiflow_engine* e, const char* options_json,
                                          pkiflow_transition_fn on_transition, void* user,
                                          char** result_json) {
  return guarded(e, result_json, [&](std::string& out) -> std::optional<pkiflow::Error> {
    std::string why;
    auto o = object_arg(options_json, "run options", why);
    if (!o) return bad_json("run options", why);
    pkiflow::RunOptions ro;
    const char* const known =
        " (dry_run, plan, concurrency, deadline_seconds, poll_interval_ms, "
        "confirm_wait_seconds, run_id, metrics_file, keep_records)";
    for (auto it = o->begin(); it != o->end(); ++it) {
      const auto& k = it.key();
      const auto& v = it.value();
      if (k == "dry_run" || k == "plan" || k == "keep_records") {
        if (!v.is_boolean()) return bad_json("run options", "\"" + k + "\" must be true or false");
        (k == "dry_run" ? ro.dry_run : k == "plan" ? ro.plan : ro.keep_records) = v.get<bool>();
      } else if (k == "concurrency" || k == "deadline_seconds" || k == "poll_interval_ms" ||
                 k == "confirm_wait_seconds") {
        if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 1'000'000)
          return bad_json("run options", "\"" + k + "\" must be a whole number up to 1000000");
        const auto n = v.get<std::int64_t>();
        if (k == "concurrency")
          ro.concurrency = static_cast<std::size_t>(n);
        else if (k == "deadline_seconds")
          ro.deadline = std::chrono::seconds(n);
        else if (k == "poll_interval_ms")
          ro.poll_interval = std::chrono::milliseconds(n);
        else
          ro.confirm_wait = std::chrono::seconds(n);
      } else if (k == "run_id" || k == "metrics_file") {
        if (!v.is_string()) return bad_json("run options", "\"" + k + "\" must be a string");
        (k == "run_id" ? ro.run_id : ro.metrics_file) = v.get<std::string>();
      } else {
        return bad_json("run options", "unknown key \"" + k + "\"" + known);
      }
    }
    if (on_transition)
      ro.on_transition = [on_transition, user](const pkiflow::Transition& t) {
        const std::string text = transition_json(t).dump();
        on_transition(text.c_str(), user);
      };
    {
      const std::lock_guard lock(e->run_mutex);
      e->run = ro.cancel;
    }
    auto r = e->engine.run(ro);
    {
      const std::lock_guard lock(e->run_mutex);
      e->run.reset();
    }
    if (!r) return r.error();
    auto records = json::array();
    for (const auto& t : r->records)
      records.push_back(transition_json(t));
    auto held = json::array();
    for (const auto& h : r->held)
      held.push_back({{"id", h.id}, {"owner", h.owner}, {"until", h.until}});
    auto renewals = json::array();
    for (const auto& p : r->renewals)
      renewals.push_back({{"id", p.id},
                          {"name", p.name},
                          {"successor", p.successor},
                          {"due", p.due},
                          {"reason", p.reason},
                          {"window", p.window},
                          {"error", p.error}});
    auto drifted = json::array();
    for (const auto& d : r->drifted)
      drifted.push_back(json::parse(d.json));
    json j{{"run_id", r->run_id},
           {"records", records},
           {"settled", r->settled},
           {"progressed", r->progressed},
           {"unchanged", r->unchanged},
           {"waiting", r->waiting},
           {"failed", r->failed},
           {"interrupted", r->interrupted},
           {"deadline_passed", r->deadline_passed},
           {"drift", r->drift},
           {"drifted", drifted},
           {"held_elsewhere", r->held_elsewhere},
           {"held", held},
           {"renewals", renewals},
           {"taken_over", r->taken_over},
           {"not_read", r->not_read},
           {"metrics_error", r->metrics_error ? json(r->metrics_error->what()) : json(nullptr)}};
    auto requests = json::array();
    for (const auto& line : r->requests)
      requests.push_back(json::parse(line, nullptr, false));
    j["requests"] = requests;
    j["exit"] = r->exit_code;
    out = j.dump();
    return std::nullopt;
  });
}

PKIFLOW_EXPORT void pkiflow_interrupt(pkiflow_engine* e) {
  if (!e) return;
  const std::lock_guard lock(e->run_mutex);
  if (e->run) e->run->cancel();
}

PKIFLOW_EXPORT pkiflow_status pkiflow_renew(pkiflow_engine* e, const char* id, char** out) {
  return record_verb(
      e, id, out, [e](const std::string& i) { return e->engine.renew(i); }, renewed_text);
}

PKIFLOW_EXPORT pkiflow_status pkiflow_retry(pkiflow_engine* e, const char* id, char** out) {
  return record_verb(
      e, id, out, [e](const std::string& i) { return e->engine.retry(i); }, record_text);
}

PKIFLOW_EXPORT pkiflow_status pkiflow_cancel(pkiflow_engine* e, const char* id, int keep_remote,
                                             char** out) {
  return record_verb(
      e, id, out,
      [e, keep_remote](const std::string& i) { return e->engine.cancel(i, keep_remote != 0); },
      record_text);
}

PKIFLOW_EXPORT pkiflow_status pkiflow_enable(pkiflow_engine* e, const char* id, char** out) {
  return record_verb(
      e, id, out, [e](const std::string& i) { return e->engine.enable(i); }, transition_text);
}

PKIFLOW_EXPORT pkiflow_status pkiflow_verify(pkiflow_engine* e, const char* id, char** out) {
  return record_verb(
      e, id, out, [e](const std::string& i) { return e->engine.verify(i); }, transition_text);
}

PKIFLOW_EXPORT pkiflow_status pkiflow_repair(pkiflow_engine* e, const char* id, char** out) {
  return record_verb(
      e, id, out, [e](const std::string& i) { return e->engine.repair(i); }, transition_text);
}

PKIFLOW_EXPORT pkiflow_status pkiflow_validate(pkiflow_engine* e, const char* request_json,
                                               char** report_json) {
  return guarded(e, report_json, [&](std::string& out) -> std::optional<pkiflow::Error> {
    std::string why;
    auto o = object_arg(request_json, "validate request", why);
    if (!o) return bad_json("validate request", why);
    pkiflow::ValidateRequest req;
    for (auto it = o->begin(); it != o->end(); ++it) {
      const auto& k = it.key();
      const auto& v = it.value();
      auto text = [&](std::string& field) -> std::optional<pkiflow::Error> {
        if (!v.is_string()) return bad_json("validate request", "\"" + k + "\" must be a string");
        field = v.get<std::string>();
        return std::nullopt;
      };
      std::optional<pkiflow::Error> bad;
      if (k == "certificate")
        bad = text(req.certificate_pem);
      else if (k == "chain")
        bad = text(req.chain_pem);
      else if (k == "csr")
        bad = text(req.csr_pem);
      else if (k == "profile")
        bad = text(req.profile);
      else if (k == "trust")
        bad = text(req.trust);
      else if (k == "purpose")
        bad = text(req.purpose);
      else if (k == "crl_check")
        bad = text(req.crl_check);
      else if (k == "lenient") {
        if (!v.is_boolean())
          return bad_json("validate request", "\"lenient\" must be true or false");
        req.lenient = v.get<bool>();
      } else if (k == "crls") {
        if (!v.is_array()) return bad_json("validate request", "\"crls\" must be an array of PEM");
        for (const auto& c : v) {
          if (!c.is_string())
            return bad_json("validate request", "\"crls\" must be an array of PEM");
          req.crl_pem.push_back(c.get<std::string>());
        }
      } else {
        return bad_json(
            "validate request",
            "unknown key \"" + k +
                "\" (certificate, chain, csr, profile, trust, crls, crl_check, purpose, "
                "lenient)");
      }
      if (bad) return bad;
    }
    auto r = e->engine.validate(req);
    if (!r) return r.error();
    auto report = json::parse(r->json);
    out = json{{"valid", r->valid}, {"report", report}}.dump();
    return std::nullopt;
  });
}

PKIFLOW_EXPORT void pkiflow_free(char* text) {
  std::free(text);
}
