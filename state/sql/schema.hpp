// The relational schema shared by the SQL backends, as numbered migrations. A database records
// its version (SQLite: PRAGMA user_version); opening runs the missing migrations forward in one
// transaction, and refuses a database newer than this build.
#pragma once

#include <string>
#include <vector>

namespace pkiflow::state::sql {

inline constexpr int kOldestSupportedVersion = 1;
inline constexpr int kCurrentVersion = 4;
// PRAGMA application_id of a pkiflow SQLite database ("pkif").
inline constexpr int kApplicationId = 0x706b6966;

// migrations()[v - 1] takes a database from version v - 1 to v (v = 1 creates it).
const std::vector<std::string>& migrations();

}  // namespace pkiflow::state::sql
