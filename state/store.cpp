#include "state/store.hpp"

#include "state/postgres/postgres_store.hpp"
#include "state/sqlite/sqlite_store.hpp"

namespace pkiflow::state {

Status for_each_record(StateStore& store, const std::function<void(const Record&)>& visit,
                       std::size_t page) {
  for (std::string after;;) {
    auto records = store.records_page(after, page);
    if (!records) return records.error();
    for (const auto& r : *records)
      visit(r);
    if (records->size() < page) return Ok{};
    after = records->back().id;
  }
}

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string redact_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  std::string out = url;
  // The user information ends at the last '@' before the query (a password may hold '/' that
  // its owner forgot to percent-encode: it is hidden all the same).
  const auto start = scheme + 3;
  const auto query = out.find('?', start);
  const auto at = out.rfind('@', query == std::string::npos ? std::string::npos : query);
  if (at != std::string::npos && at >= start) {
    const auto colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // Query parameters: libpq takes password=… there too.
  auto q = out.find('?');
  while (q != std::string::npos) {
    const auto key = q + 1;
    const auto amp = out.find('&', key);
    const auto stop = amp == std::string::npos ? out.size() : amp;
    const auto eq = out.find('=', key);
    if (eq != std::string::npos && eq < stop && out.compare(key, eq - key, "password") == 0)
      out.replace(eq + 1, stop - eq - 1, "***");
    q = out.find('&', key);
  }
  return out;
}

Result<std::unique_ptr<StateStore>> open_store(const std::string& url, OpenMode mode,
                                               const pki::Passphrase* password) {
  if (is_postgres_url(url)) {
    auto s = PostgresStore::open(url, mode, password);
    if (!s) return s.error();
    return std::unique_ptr<StateStore>(std::move(*s));
  }
  std::string path = url;
  if (url.rfind("sqlite://", 0) == 0) {
    path = url.substr(9);  // sqlite:///abs -> /abs ; sqlite://rel -> rel
  } else if (url.find("://") != std::string::npos) {
    return Error(ErrorKind::unsupported, redact_url(url),
                 "unsupported state store URL (sqlite:///path/state.db or "
                 "postgresql://user@host/database)");
  }
  if (path.empty()) return Error(ErrorKind::invalid_input, url, "no database path in the URL");
  auto s = SqliteStore::open(path, mode);
  if (!s) return s.error();
  return std::unique_ptr<StateStore>(std::move(*s));
}

}  // namespace pkiflow::state
