// Internal: libpq, loaded when a PostgreSQL store is first opened (dlopen "libpq.so.5"), not
// linked. Debian's libpq brings about twenty libraries with it (Kerberos, LDAP, GnuTLS,
// p11-kit), whose loading and constructors cost every run about 3.4 MiB of memory and start-up
// time; the embedded SQLite store, the default, never needs them.
#pragma once

#include <libpq-fe.h>

#include "engine/pki/result.hpp"

namespace pkiflow::state::postgres {

// The libpq functions pg_db.cpp calls, by their names without the "PQ".
struct Libpq {
  decltype(&::PQconnectdbParams) connectdbParams;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) errorMessage;
  decltype(&::PQreset) reset;
  decltype(&::PQfinish) finish;
  decltype(&::PQprepare) prepare;
  decltype(&::PQexecPrepared) execPrepared;
  decltype(&::PQexec) exec;
  decltype(&::PQresultStatus) resultStatus;
  decltype(&::PQresultErrorField) resultErrorField;
  decltype(&::PQclear) clear;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetlength) getlength;
  decltype(&::PQgetisnull) getisnull;
  decltype(&::PQcmdTuples) cmdTuples;
};

// Loads libpq once per process (thread-safe); an error names the library and what to install.
Result<const Libpq*> load_libpq();
// After a successful load_libpq() (every Connection has connected through it).
const Libpq& libpq();

}  // namespace pkiflow::state::postgres
