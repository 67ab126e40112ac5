#include "engine/pki/validate/detail/path_builder.hpp"

#include <algorithm>

namespace pkiflow::pki::detail {

namespace {

// RFC 5280 4.2.1.1: when both key identifiers are present they must agree; a mismatch rules the
// candidate out without any signature check.
bool key_ids_compatible(const Botan::X509_Certificate& child,
                        const Botan::X509_Certificate& parent) {
  const auto& aki = child.authority_key_id();
  const auto& ski = parent.subject_key_id();
  return aki.empty() || ski.empty() || aki == ski;
}

}  // namespace

PathBuilder::PathBuilder(const std::vector<PoolEntry>& pool, std::size_t target,
                         std::chrono::system_clock::time_point at, const PathLimits& limits)
    : pool_(pool),
      target_(target),
      at_(at),
      limits_(limits),
      issuers_(pool.size()),
      computed_(pool.size(), 0),
      dead_(pool.size(), 0),
      bad_node_(pool.size(), 0),
      on_path_(pool.size(), 0) {}

// Candidate issuers of pool[i], computed when the search first reaches i (a large trust store
// costs nothing for the anchors no path visits).
const std::vector<std::size_t>& PathBuilder::issuers_of(std::size_t i) {
  if (computed_[i]) return issuers_[i];
  computed_[i] = 1;
  const Botan::X509_Time when(at_);
  auto valid_at = [&](const Botan::X509_Certificate& c) {
    return !(when < c.not_before()) && !(c.not_after() < when);
  };
  const auto& child = pool_[i].cert;
  for (std::size_t j = 0; j < pool_.size(); ++j) {
    if (i == j) continue;
    const auto& parent = pool_[j].cert;
    if (child.issuer_dn() == parent.subject_dn() && key_ids_compatible(child, parent))
      issuers_[i].push_back(j);
  }
  std::stable_sort(issuers_[i].begin(), issuers_[i].end(), [&](std::size_t a, std::size_t b) {
    const auto& ea = pool_[a];
    const auto& eb = pool_[b];
    if (ea.anchor != eb.anchor) return ea.anchor;
    bool va = valid_at(ea.cert), vb = valid_at(eb.cert);
    if (va != vb) return va;
    return eb.cert.not_after() < ea.cert.not_after();
  });
  return issuers_[i];
}

void PathBuilder::mark_bad_node(std::size_t node) {
  if (node == target_) return;
  bad_node_[node] = 1;
  auto it = std::find(path_.begin(), path_.end(), node);
  if (it != path_.end()) unwind_ = std::min(unwind_, static_cast<std::size_t>(it - path_.begin()));
}

void PathBuilder::mark_bad_edge(std::size_t child, std::size_t parent) {
  bad_edges_.emplace_back(child, parent);
  auto it = std::find(path_.begin(), path_.end(), child);
  if (it != path_.end())
    unwind_ = std::min(unwind_, static_cast<std::size_t>(it - path_.begin()) + 1);
}

// RFC 4158 2.4.2: a path never holds the same subject name and key twice, even through two
// different certificates (a pair of cross-certified CAs would otherwise loop).
bool PathBuilder::repeats_subject_and_key(std::size_t node) const {
  const auto& c = pool_[node].cert;
  for (auto k : path_) {
    const auto& o = pool_[k].cert;
    if (o.subject_dn() == c.subject_dn() &&
        o.subject_public_key_info() == c.subject_public_key_info())
      return true;
  }
  return false;
}

bool PathBuilder::bad_edge(std::size_t child, std::size_t parent) const {
  return std::find(bad_edges_.begin(), bad_edges_.end(), std::make_pair(child, parent)) !=
         bad_edges_.end();
}

SearchEnd PathBuilder::search(const std::function<bool(const std::vector<std::size_t>&)>& check) {
  if (pool_.size() > limits_.max_pool) {
    limit_hit_ = "pool: more than " + std::to_string(limits_.max_pool) + " certificates given";
    return SearchEnd::limit_hit;
  }
  bool accepted = dfs(target_, check);
  if (accepted) return SearchEnd::accepted;
  return limit_hit_.empty() ? SearchEnd::exhausted : SearchEnd::limit_hit;
}

bool PathBuilder::dfs(std::size_t node,
                      const std::function<bool(const std::vector<std::size_t>&)>& check) {
  path_.push_back(node);
  on_path_[node] = 1;
  bool accepted = false;
  bool any_complete = false;  // some path through this node reached an anchor
  bool blocked = false;       // an issuer was skipped for reasons that depend on the path
  const bool anchor = pool_[node].anchor;
  // A self-signed anchor ends the path. An anchor that is an intermediate ends it too (RFC 5280
  // 6.1), but when its own issuers are at hand the longer path is tried first, so the bundle
  // rules can see the whole chain up to the root.
  const bool terminal = anchor && pool_[node].cert.is_self_signed();
  if (!terminal) {
    if (path_.size() >= limits_.max_depth) {
      if (!anchor) {
        limit_hit_ =
            "depth: paths longer than " + std::to_string(limits_.max_depth) + " certificates";
        blocked = true;
      }
    } else {
      for (std::size_t parent : issuers_of(node)) {
        if (!limit_hit_.empty()) break;
        if (++steps_ > limits_.max_steps) {
          limit_hit_ = "steps: " + std::to_string(limits_.max_steps) + " issuer edges explored";
          break;
        }
        if (on_path_[parent] || repeats_subject_and_key(parent)) {
          blocked = true;
          continue;
        }
        if (dead_[parent] || bad_node_[parent] || bad_edge(node, parent)) continue;
        accepted = dfs(parent, check);
        if (accepted) break;
        if (!dead_[parent]) any_complete = true;
        // A checked path showed that this node or one below it on the path is bad: every
        // remaining path from here would contain it, so return to where it can be avoided.
        if (unwind_ < path_.size()) {
          blocked = true;
          break;
        }
        unwind_ = kNoUnwind;
      }
    }
  }
  if (!accepted && anchor && limit_hit_.empty() && !bad_node_[node] && unwind_ >= path_.size()) {
    any_complete = true;
    if (++candidates_ > limits_.max_candidates) {
      limit_hit_ = "candidates: " + std::to_string(limits_.max_candidates) + " paths checked";
    } else {
      accepted = check(path_);
    }
  }
  if (!accepted && !any_complete && !blocked && limit_hit_.empty()) dead_[node] = 1;
  on_path_[node] = 0;
  path_.pop_back();
  return accepted;
}

std::vector<std::size_t> PathBuilder::longest_partial() {
  std::vector<std::size_t> out{target_};
  std::vector<char> seen(pool_.size(), 0);
  seen[target_] = 1;
  std::size_t node = target_;
  while (out.size() < limits_.max_depth) {
    const auto& candidates = issuers_of(node);
    auto it =
        std::find_if(candidates.begin(), candidates.end(), [&](std::size_t p) { return !seen[p]; });
    if (it == candidates.end()) break;
    node = *it;
    seen[node] = 1;
    out.push_back(node);
  }
  return out;
}

}  // namespace pkiflow::pki::detail
