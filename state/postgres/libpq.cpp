#include "state/postgres/libpq.hpp"

#include <dlfcn.h>

#include <string>

namespace pkiflow::state::postgres {

namespace {

struct Loaded {
  Libpq lib{};
  std::string error;  // non-empty: not loaded
};

template <class F>
bool resolve(void* handle, const char* name, F& out, std::string& error) {
  void* sym = ::dlsym(handle, name);
  if (!sym) {
    error = std::string("libpq.so.5 has no ") + name;
    return false;
  }
  out = reinterpret_cast<F>(sym);
  return true;
}

Loaded load() {
  Loaded l;
  // RTLD_LOCAL: its symbols (and its libraries') stay out of the process's namespace. Never
  // closed: a connection may live until exit.
  void* h = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = ::dlerror();
    l.error = std::string("cannot load libpq.so.5 (") + (why ? why : "unknown error") +
              "); the PostgreSQL state store needs Debian's libpq5 package";
    return l;
  }
  auto& p = l.lib;
  auto& e = l.error;
  (void)(resolve(h, "PQconnectdbParams", p.connectdbParams, e) &&
         resolve(h, "PQstatus", p.status, e) && resolve(h, "PQerrorMessage", p.errorMessage, e) &&
         resolve(h, "PQreset", p.reset, e) && resolve(h, "PQfinish", p.finish, e) &&
         resolve(h, "PQprepare", p.prepare, e) && resolve(h, "PQexecPrepared", p.execPrepared, e) &&
         resolve(h, "PQexec", p.exec, e) && resolve(h, "PQresultStatus", p.resultStatus, e) &&
         resolve(h, "PQresultErrorField", p.resultErrorField, e) &&
         resolve(h, "PQclear", p.clear, e) && resolve(h, "PQntuples", p.ntuples, e) &&
         resolve(h, "PQgetvalue", p.getvalue, e) && resolve(h, "PQgetlength", p.getlength, e) &&
         resolve(h, "PQgetisnull", p.getisnull, e) && resolve(h, "PQcmdTuples", p.cmdTuples, e));
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();  // once, thread-safe (a magic static)
  return l;
}

}  // namespace

Result<const Libpq*> load_libpq() {
  const auto& l = loaded();
  if (!l.error.empty()) return Error(ErrorKind::unavailable, "PostgreSQL", l.error);
  return &l.lib;
}

const Libpq& libpq() {
  return loaded().lib;
}

}  // namespace pkiflow::state::postgres
