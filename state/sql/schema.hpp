// The relational schema shared by the SQL backends, as numbered migrations: the same tables,
// columns and versions in both dialects. A database records its version (SQLite: PRAGMA
// user_version; PostgreSQL: the pkiflow_schema table); opening runs the missing migrations
// forward in one transaction, and refuses a database newer than this build.
#pragma once

#include <string>
#include <vector>

namespace pkiflow::state::sql {

inline constexpr int kOldestSupportedVersion = 1;
inline constexpr int kCurrentVersion = 6;
// PRAGMA application_id of a pkiflow SQLite database ("pkif").
inline constexpr int kApplicationId = 0x706b6966;

// migrations()[v - 1] takes a database from version v - 1 to v (v = 1 creates it).
const std::vector<std::string>& migrations();
// The same for PostgreSQL. Version 1 also creates pkiflow_schema (application, version), the
// marker of a pkiflow database. Migrations run under the advisory transaction lock
// kApplicationId, so workers that start together migrate once.
const std::vector<std::string>& postgres_migrations();

}  // namespace pkiflow::state::sql
