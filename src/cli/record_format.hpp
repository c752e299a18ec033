// How run records and node leases are shown: stable JSON (documented in docs/operations.md)
// and aligned text tables for people. Strings from the store are made safe here (see
// cli/user_text.hpp): the JSON is valid whatever a job printed, a table cell is one line.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "solocron/store.hpp"

namespace solocron::cli {

// RFC 3339 in UTC with milliseconds and `Z`: "2026-03-08T07:00:00.125Z".
std::string format_store_time(StoreTime t);

// "fence" is null where no claim issued one (missed, skipped_overlap records).
nlohmann::json to_json(const RunRecord& r);
nlohmann::json to_json(const NodeLease& lease, StoreTime store_now);

// A plain table: the first row is the header; columns padded to their widest cell.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace solocron::cli
