#include "engine/pki/validate/detail/policy_graph.hpp"

#include <algorithm>

#include "engine/pki/validate/validator.hpp"

namespace pkiflow::pki::detail {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (!contains(v, s)) v.push_back(s);
}

}  // namespace

// 6.1.2 (a): one node at depth 0, anyPolicy expecting anyPolicy.
PolicyGraph::PolicyGraph() {
  levels_.push_back({Node{kAnyPolicy, {kAnyPolicy}, {}, true}});
}

std::optional<std::size_t> PolicyGraph::find(const Level& level, const std::string& policy) const {
  for (std::size_t k = 0; k < level.size(); ++k)
    if (level[k].alive && level[k].policy == policy) return k;
  return std::nullopt;
}

void PolicyGraph::add_edge(Node& node, std::size_t parent) {
  if (std::find(node.parents.begin(), node.parents.end(), parent) != node.parents.end()) return;
  node.parents.push_back(parent);
  if (++edges_ > kMaxEdges) too_large_ = true;
}

void PolicyGraph::make_null() {
  null_ = true;
  levels_.clear();
}

void PolicyGraph::add_certificate(const std::optional<std::vector<std::string>>& policies,
                                  bool any_allowed) {
  if (null_ || too_large_) return;
  if (!policies) return make_null();  // (e)
  const Level& above = levels_.back();
  Level level;
  const auto any_above = find(above, kAnyPolicy);
  // (d)(1): each policy other than anyPolicy hangs from the nodes above that expect it, or else
  // from anyPolicy above.
  for (const auto& p : *policies) {
    if (p == kAnyPolicy || find(level, p)) continue;
    Node node{p, {p}, {}, true};
    for (std::size_t k = 0; k < above.size(); ++k)
      if (above[k].alive && contains(above[k].expected, p)) add_edge(node, k);
    if (node.parents.empty() && any_above) add_edge(node, *any_above);
    if (!node.parents.empty()) level.push_back(std::move(node));
  }
  // (d)(2): anyPolicy in the certificate carries every expected policy not matched yet, and
  // anyPolicy itself.
  if (any_allowed && contains(*policies, kAnyPolicy)) {
    for (std::size_t k = 0; k < above.size(); ++k) {
      if (!above[k].alive) continue;
      for (const auto& p : above[k].expected) {
        if (p == kAnyPolicy) continue;
        auto existing = find(level, p);
        if (existing) {
          // A node made by this step gathers all its parents; one made by (d)(1) already has
          // every parent that expects it.
          if (!contains(*policies, p)) add_edge(level[*existing], k);
          continue;
        }
        Node node{p, {p}, {}, true};
        add_edge(node, k);
        level.push_back(std::move(node));
      }
    }
    if (any_above) {
      Node node{kAnyPolicy, {kAnyPolicy}, {}, true};
      add_edge(node, *any_above);
      level.push_back(std::move(node));
    }
  }
  levels_.push_back(std::move(level));
  prune();  // (d)(3)
}

void PolicyGraph::apply_mappings(const std::vector<std::pair<std::string, std::string>>& mappings,
                                 bool mapping_allowed) {
  if (null_ || too_large_) return;
  Level& level = levels_.back();
  std::vector<std::string> issuer_policies;
  for (const auto& m : mappings)
    add_unique(issuer_policies, m.first);
  for (const auto& id_p : issuer_policies) {
    std::vector<std::string> subjects;
    for (const auto& m : mappings)
      if (m.first == id_p) add_unique(subjects, m.second);
    auto node = find(level, id_p);
    if (!mapping_allowed) {  // (b)(2): the mapped policy is gone
      if (node) level[*node].alive = false;
      continue;
    }
    if (node) {  // (b)(1)
      level[*node].expected = subjects;
      continue;
    }
    auto any = find(level, kAnyPolicy);
    if (!any) continue;
    // A sibling of this depth's anyPolicy: a child of the anyPolicy one level up.
    Node mapped{id_p, subjects, {}, true};
    for (auto parent : level[*any].parents)
      add_edge(mapped, parent);
    level.push_back(std::move(mapped));
  }
  if (!mapping_allowed) prune();
}

// Removes nodes above the last depth that have no living child, repeatedly (RFC 9618 (d)(3));
// when nothing is left at the last depth the graph is NULL.
void PolicyGraph::prune() {
  for (std::size_t d = levels_.size() - 1; d > 0; --d) {
    std::vector<char> has_child(levels_[d - 1].size(), 0);
    for (const auto& n : levels_[d])
      if (n.alive)
        for (auto p : n.parents)
          has_child[p] = 1;
    for (std::size_t k = 0; k < levels_[d - 1].size(); ++k)
      if (!has_child[k]) levels_[d - 1][k].alive = false;
  }
  const auto& last = levels_.back();
  if (std::none_of(last.begin(), last.end(), [](const Node& n) { return n.alive; })) make_null();
}

std::vector<std::string> PolicyGraph::authority_constrained() const {
  std::vector<std::string> out;
  if (null_) return out;
  if (find(levels_.back(), kAnyPolicy)) return {kAnyPolicy};
  // Every node left leads down to the leaf (pruning); the valid policies are the nodes that hang
  // from anyPolicy, named in the issuer's domain as RFC 5280's tree names them.
  for (std::size_t d = 1; d < levels_.size(); ++d) {
    const auto any = find(levels_[d - 1], kAnyPolicy);
    if (!any) continue;
    for (const auto& n : levels_[d]) {
      if (!n.alive || n.policy == kAnyPolicy) continue;
      if (std::find(n.parents.begin(), n.parents.end(), *any) != n.parents.end())
        add_unique(out, n.policy);
    }
  }
  return out;
}

std::vector<std::string> PolicyGraph::expected_below() const {
  std::vector<std::string> out;
  if (null_) return out;
  if (find(levels_.back(), kAnyPolicy)) return {kAnyPolicy};
  for (const auto& n : levels_.back())
    if (n.alive)
      for (const auto& p : n.expected)
        add_unique(out, p);
  return out;
}

std::vector<std::string> PolicyGraph::user_constrained(
    const std::vector<std::string>& initial) const {
  auto authority = authority_constrained();
  if (authority.empty()) return {};
  const bool user_any = contains(initial, kAnyPolicy);
  if (contains(authority, kAnyPolicy)) return user_any ? authority : initial;
  if (user_any) return authority;
  std::vector<std::string> out;
  for (const auto& p : authority)
    if (contains(initial, p)) out.push_back(p);
  return out;
}

}  // namespace pkiflow::pki::detail
