// A strict reader of the Prometheus text exposition format, for the tests of `--metrics-file`
// (a metrics file is checked by a parser, never by grep).
#pragma once

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace pkiflow::test {

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// A strict reader of the Prometheus text exposition format (0.0.4): every family's HELP and
// TYPE before its samples, metric and label names as the grammar allows, label values with their
// escapes, a number as the value, no series twice. Fails the test on any deviation.
inline std::map<std::string, std::vector<Sample>> parse_prometheus(const std::string& text) {
  const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  const std::regex label_re("[a-zA-Z_][a-zA-Z0-9_]*");
  std::map<std::string, std::vector<Sample>> out;
  std::set<std::string> typed, helped, series;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    BOOST_TEST_CONTEXT(line) {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        std::istringstream words(line.substr(7));
        std::string name, rest;
        words >> name;
        std::getline(words, rest);
        BOOST_TEST_REQUIRE(std::regex_match(name, name_re));
        if (line[2] == 'T') {
          BOOST_TEST((rest == " gauge" || rest == " counter"));
          BOOST_TEST_REQUIRE(typed.insert(name).second);  // one TYPE per family
        } else {
          BOOST_TEST_REQUIRE(helped.insert(name).second);
        }
        continue;
      }
      BOOST_TEST_REQUIRE(!line.empty());
      BOOST_TEST_REQUIRE(line[0] != '#');
      std::size_t i = 0;
      while (i < line.size() && line[i] != '{' && line[i] != ' ')
        ++i;
      const std::string name = line.substr(0, i);
      BOOST_TEST_REQUIRE(std::regex_match(name, name_re));
      BOOST_TEST_REQUIRE(typed.count(name) == 1u);  // TYPE came first
      BOOST_TEST_REQUIRE(helped.count(name) == 1u);
      Sample sample;
      if (line[i] == '{') {
        ++i;
        while (line[i] != '}') {
          const std::size_t eq = line.find('=', i);
          BOOST_TEST_REQUIRE(eq != std::string::npos);
          const std::string key = line.substr(i, eq - i);
          BOOST_TEST_REQUIRE(std::regex_match(key, label_re));
          BOOST_TEST_REQUIRE(line[eq + 1] == '"');
          std::string value;
          std::size_t j = eq + 2;
          for (; j < line.size() && line[j] != '"'; ++j) {
            if (line[j] == '\\') {
              ++j;
              BOOST_TEST_REQUIRE((line[j] == '\\' || line[j] == '"' || line[j] == 'n'));
              value += line[j] == 'n' ? '\n' : line[j];
            } else {
              value += line[j];
            }
          }
          BOOST_TEST_REQUIRE(j < line.size());
          BOOST_TEST_REQUIRE(sample.labels.emplace(key, value).second);
          i = j + 1;
          if (line[i] == ',') ++i;
          BOOST_TEST_REQUIRE(i < line.size());
        }
        ++i;
      }
      BOOST_TEST_REQUIRE(line[i] == ' ');
      const std::string number = line.substr(i + 1);
      char* end = nullptr;
      sample.value = std::strtod(number.c_str(), &end);
      BOOST_TEST_REQUIRE((end != number.c_str() && *end == '\0'));
      std::string key = name;
      for (const auto& [k, v] : sample.labels)
        key += "|" + k + "=" + v;
      BOOST_TEST_REQUIRE(series.insert(key).second);  // no series twice
      out[name].push_back(std::move(sample));
    }
  }
  return out;
}

inline double value_of(const std::map<std::string, std::vector<Sample>>& m, const std::string& name,
                       const std::map<std::string, std::string>& labels = {}) {
  auto it = m.find(name);
  BOOST_TEST_REQUIRE((it != m.end()), "no " << name);
  for (const auto& s : it->second) {
    bool match = true;
    for (const auto& [k, v] : labels)
      match = match && s.labels.count(k) && s.labels.at(k) == v;
    if (match) return s.value;
  }
  BOOST_FAIL("no sample of " << name << " with the labels asked for");
  return 0;
}

}  // namespace pkiflow::test
