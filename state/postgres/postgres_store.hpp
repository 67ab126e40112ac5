// The PostgreSQL state store (`postgresql://…`), for several workers on several hosts sharing
// one set of records. Same schema and semantics as SQLite (state/sql/): the contract suite
// (tests/conformance/store_conformance_test.cpp) runs both.
//
// Concurrency: every write is one transaction at READ COMMITTED. A record write checks the
// version it was read at, so of two workers that read the same version one wins and the other
// gets kVersionConflict; claim_due locks the rows it takes with FOR UPDATE SKIP LOCKED, so
// workers claiming at the same moment take disjoint records without waiting for each other.
// One connection per store, used by one thread at a time (a mutex keeps it so).
#pragma once

#include <memory>
#include <string>

#include "engine/pki/passphrase.hpp"
#include "state/store.hpp"

namespace pkiflow::state {

class PostgresStore final : public StateStore {
 public:
  // Connects and migrates (read_write) or checks the schema (read_only). `password`, when
  // given (the config's state_password_file), wins over PGPASSWORD, PGPASSFILE and the URL.
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url, OpenMode mode,
                                                     const pki::Passphrase* password = nullptr);
  ~PostgresStore() override;

  Result<Record> create(const Record& record, const HistoryEntry& history) override;
  Result<std::optional<Record>> get(const std::string& id) override;
  Result<std::vector<Record>> list(const RecordFilter& filter) override;
  Result<std::vector<Record>> apply(const std::vector<RecordWrite>& writes) override;
  Result<std::vector<HistoryEntry>> history(const std::string& record_id) override;
  Status journal_begin(const Operation& op) override;
  Status journal_update(const std::string& op_id, OperationState state,
                        const std::string& response_summary, TimePoint at) override;
  Result<std::vector<Operation>> journal_open() override;
  Result<std::vector<Operation>> journal_of(const std::string& record_id) override;
  Result<std::vector<Record>> claim_due(const std::string& owner, TimePoint now, TimePoint until,
                                        const std::vector<RecordState>& states,
                                        std::size_t limit) override;
  Result<std::vector<Record>> claim_ids(const std::string& owner,
                                        const std::vector<std::string>& ids, TimePoint now,
                                        TimePoint until) override;
  Result<std::vector<Record>> due_page(const std::vector<RecordState>& states, TimePoint now,
                                       const std::string& after_id, std::size_t limit) override;
  Status release(const std::string& owner, const std::vector<std::string>& ids) override;
  Result<std::optional<std::string>> lease_owner(const std::string& id, TimePoint now) override;
  Result<std::vector<Lease>> leases(TimePoint now) override;
  Result<std::size_t> break_leases(const std::string& owner) override;
  Result<std::vector<std::string>> renew_leases(const std::string& owner,
                                                const std::vector<std::string>& ids,
                                                TimePoint until) override;
  Status throttle(const std::string& tenant, TimePoint not_before, TimePoint now) override;
  Result<std::optional<TimePoint>> not_before(const std::string& tenant, TimePoint now) override;
  Result<StoreCounts> counts() override;
  Result<std::vector<Record>> records_page(const std::string& after_id, std::size_t limit) override;
  Result<std::vector<HistoryEntry>> history_page(std::int64_t after_seq,
                                                 std::size_t limit) override;
  Result<std::vector<Operation>> journal_page(const std::string& after_op_id,
                                              std::size_t limit) override;
  Result<std::unique_ptr<StoreImport>> begin_import() override;

  Result<int> schema_version();

  struct Impl;

 private:
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Creates pkiflow's tables at schema version `version` in the (empty) database at `url` (tests
// of forward migrations).
Status create_postgres_at_version(const std::string& url, int version);

}  // namespace pkiflow::state
