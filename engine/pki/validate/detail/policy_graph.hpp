// Internal: certificate policy processing (RFC 5280 6.1.2-6.1.5) on the valid_policy_graph of
// RFC 9618. The graph keeps one node per policy OID and depth, with every parent edge, so a
// chain crafted to blow up RFC 5280's tree costs nodes times edges, not a tree exponential in the
// path length; and the graph is bounded (kMaxEdges) besides.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pkiflow::pki::detail {

class PolicyGraph {
 public:
  static constexpr std::size_t kMaxEdges = 20'000;

  PolicyGraph();

  // 6.1.3 (d): certificate i (1-based depth) asserts `policies` (nullopt: no
  // certificatePolicies extension, which makes the graph NULL, 6.1.3 (e)). `any_allowed`: the
  // anyPolicy of this certificate may be used ((d)(2): inhibit_anyPolicy > 0, or a
  // self-issued intermediate).
  void add_certificate(const std::optional<std::vector<std::string>>& policies, bool any_allowed);

  // 6.1.4 (b): the mappings of certificate i; `mapping_allowed` is policy_mapping > 0.
  void apply_mappings(const std::vector<std::pair<std::string, std::string>>& mappings,
                      bool mapping_allowed);

  bool null() const { return null_; }
  bool too_large() const { return too_large_; }

  // 6.1.5 (g) after the last certificate. The authority-constrained set (the valid policies the
  // CAs allow: {anyPolicy} when anyPolicy reaches the leaf) and its intersection with the user's
  // initial set.
  std::vector<std::string> authority_constrained() const;
  std::vector<std::string> user_constrained(const std::vector<std::string>& initial) const;
  // After the mappings of the last certificate: the policies a certificate it issues can assert
  // and keep valid, in that certificate's domain ({anyPolicy}: any; empty when NULL).
  std::vector<std::string> expected_below() const;

 private:
  struct Node {
    std::string policy;
    std::vector<std::string> expected;
    std::vector<std::size_t> parents;  // indices in the level above
    bool alive = true;
  };
  using Level = std::vector<Node>;

  std::optional<std::size_t> find(const Level& level, const std::string& policy) const;
  void add_edge(Node& node, std::size_t parent);
  void prune();
  void make_null();

  std::vector<Level> levels_;
  std::size_t edges_ = 0;
  bool null_ = false;
  bool too_large_ = false;
};

}  // namespace pkiflow::pki::detail
