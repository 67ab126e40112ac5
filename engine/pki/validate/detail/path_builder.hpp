// Internal: bounded candidate-path search over an untrusted certificate pool (DESIGN.md, "Path
// building over untrusted bundles"). The graph search uses names and key identifiers only; the
// caller checks each candidate path (with Botan) and reports bad edges back, so a crafted bundle
// with many same-named cross-certified CAs costs at most one check per edge, not per path.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <botan/pkix_types.h>
#include <botan/x509cert.h>

namespace pkiflow::pki::detail {

struct PathLimits {
  std::size_t max_pool = 512;       // certificates considered (chain + anchors)
  std::size_t max_depth = 12;       // certificates on one path
  std::size_t max_candidates = 64;  // complete paths handed to the checker
  std::size_t max_steps = 50'000;   // issuer edges explored
};

struct PoolEntry {
  Botan::X509_Certificate cert;
  bool anchor = false;
};

enum class SearchEnd { accepted, exhausted, limit_hit };

class PathBuilder {
 public:
  // pool[target] is the certificate to validate.
  PathBuilder(const std::vector<PoolEntry>& pool, std::size_t target,
              std::chrono::system_clock::time_point at, const PathLimits& limits);

  // Calls check(path) for each complete candidate (pool indices, target first, anchor last),
  // preferring anchors, then certificates valid at `at`, until check returns true.
  SearchEnd search(const std::function<bool(const std::vector<std::size_t>&)>& check);

  // The checker found that pool[child]'s signature does not verify with pool[parent]'s key.
  void mark_bad_edge(std::size_t child, std::size_t parent);
  // pool[node] fails on its own (expired, not yet valid, unusable key): skip it in every path.
  void mark_bad_node(std::size_t node);

  // Longest chain of name-matching issuers from the target (for "no path" diagnostics).
  std::vector<std::size_t> longest_partial();
  const std::string& limit_hit() const { return limit_hit_; }
  std::size_t candidates() const { return candidates_; }

 private:
  bool dfs(std::size_t node, const std::function<bool(const std::vector<std::size_t>&)>& check);
  bool bad_edge(std::size_t child, std::size_t parent) const;
  bool repeats_subject_and_key(std::size_t node) const;
  const std::vector<std::size_t>& issuers_of(std::size_t i);

  const std::vector<PoolEntry>& pool_;
  std::size_t target_;
  std::chrono::system_clock::time_point at_;
  PathLimits limits_;
  std::vector<std::vector<std::size_t>> issuers_;  // candidate issuers, in preference order
  std::vector<char> computed_;
  std::vector<char> dead_;  // no anchor reachable (memo)
  std::vector<char> bad_node_;
  std::vector<char> on_path_;
  std::vector<std::pair<std::size_t, std::size_t>> bad_edges_;
  std::vector<std::size_t> path_;
  static constexpr std::size_t kNoUnwind = static_cast<std::size_t>(-1);
  std::size_t unwind_ = kNoUnwind;  // frames deeper than this many path entries must return
  std::size_t steps_ = 0;
  std::size_t candidates_ = 0;
  std::string limit_hit_;
};

}  // namespace pkiflow::pki::detail
