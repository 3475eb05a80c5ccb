#include "image/changes.h"

#include <optional>
#include <vector>

#include "util/status.h"
#include "util/strings.h"

namespace berth::image {
namespace {

// Shell-like words: whitespace separates, quotes group, backslash escapes.
absl::StatusOr<std::vector<std::string>> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool inWord = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur.push_back(s[++i]);
      } else {
        cur.push_back(c);
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      inWord = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur.push_back(s[++i]);
      inWord = true;
    } else if (c == ' ' || c == '\t') {
      if (inWord) out.push_back(std::move(cur));
      cur.clear();
      inWord = false;
    } else {
      cur.push_back(c);
      inWord = true;
    }
  }
  if (quote != 0) return absl::InvalidArgumentError("unterminated quote");
  if (inWord) out.push_back(std::move(cur));
  return out;
}

// Exec form when the argument is a JSON array of strings, else nullopt.
std::optional<std::vector<std::string>> jsonArray(std::string_view arg) {
  if (!arg.starts_with('[')) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(arg, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const nlohmann::json& e : j) {
    if (!e.is_string()) return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

nlohmann::json command(std::string_view arg) {
  if (auto exec = jsonArray(arg)) return *exec;
  return nlohmann::json::array({"/bin/sh", "-c", std::string(arg)});
}

// "k=v k2='v 2'" or the legacy "k v w" (one pair: the key, then the rest).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> pairs(std::string_view arg, std::string_view what) {
  std::vector<std::pair<std::string, std::string>> out;
  absl::StatusOr<std::vector<std::string>> ws = words(arg);
  if (!ws.ok()) return absl::InvalidArgumentError(strCat(what, ": ", ws.status().message()));
  if (ws->empty()) return absl::InvalidArgumentError(strCat(what, " requires at least one argument"));
  if ((*ws)[0].find('=') == std::string::npos) {
    auto [key, rest] = splitOnce(trim(arg), ' ');
    if (rest.data() == nullptr || trim(rest).empty()) {
      return absl::InvalidArgumentError(strCat(what, " names ", key, " without a value"));
    }
    out.emplace_back(std::string(key), std::string(trim(rest)));
    return out;
  }
  for (const std::string& w : *ws) {
    size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) return absl::InvalidArgumentError(strCat(what, ": \"", w, "\" is not key=value"));
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

}  // namespace

absl::Status applyChange(std::string_view change, nlohmann::json& config) {
  if (!config.is_object()) config = nlohmann::json::object();
  std::string_view line = trim(change);
  auto [instr, rest] = splitOnce(line, ' ');
  std::string name = toLower(instr);
  std::string_view arg = rest.data() == nullptr ? std::string_view() : trim(rest);
  if (name == "cmd") {
    config["Cmd"] = command(arg);
  } else if (name == "entrypoint") {
    config["Entrypoint"] = command(arg);
  } else if (name == "env") {
    BERTH_ASSIGN_OR_RETURN(auto kv, pairs(arg, "ENV"));
    nlohmann::json env = config.value("Env", nlohmann::json::array());
    for (const auto& [k, v] : kv) {
      std::string prefix = k + "=";
      nlohmann::json kept = nlohmann::json::array();
      for (const nlohmann::json& e : env) {
        if (!(e.is_string() && e.get<std::string>().starts_with(prefix))) kept.push_back(e);
      }
      kept.push_back(prefix + v);
      env = std::move(kept);
    }
    config["Env"] = env;
  } else if (name == "label") {
    BERTH_ASSIGN_OR_RETURN(auto kv, pairs(arg, "LABEL"));
    for (const auto& [k, v] : kv) config["Labels"][k] = v;
  } else if (name == "expose") {
    absl::StatusOr<std::vector<std::string>> ports = words(arg);
    if (!ports.ok() || ports->empty()) return absl::InvalidArgumentError("EXPOSE requires at least one argument");
    for (const std::string& p : *ports) {
      auto [num, proto] = splitOnce(p, '/');
      int port = 0;
      if (!parseInt(num, port) || port < 1 || port > 65535) return absl::InvalidArgumentError(strCat("invalid port: ", p));
      std::string protocol = proto.data() == nullptr ? "tcp" : toLower(proto);
      if (protocol != "tcp" && protocol != "udp" && protocol != "sctp") {
        return absl::InvalidArgumentError(strCat("invalid proto: ", protocol));
      }
      config["ExposedPorts"][strCat(port, "/", protocol)] = nlohmann::json::object();
    }
  } else if (name == "volume") {
    std::vector<std::string> vols;
    if (auto exec = jsonArray(arg)) {
      vols = *exec;
    } else {
      BERTH_ASSIGN_OR_RETURN(vols, words(arg));
    }
    if (vols.empty()) return absl::InvalidArgumentError("VOLUME requires at least one argument");
    for (const std::string& v : vols) config["Volumes"][v] = nlohmann::json::object();
  } else if (name == "user" || name == "workdir" || name == "stopsignal") {
    if (arg.empty()) return absl::InvalidArgumentError(strCat(toLower(instr), " requires exactly one argument"));
    const char* key = name == "user" ? "User" : name == "workdir" ? "WorkingDir" : "StopSignal";
    config[key] = std::string(arg);
  } else if (name == "onbuild") {
    if (arg.empty()) return absl::InvalidArgumentError("ONBUILD requires at least one argument");
    config["OnBuild"].push_back(std::string(arg));
  } else {
    return absl::InvalidArgumentError(strCat(instr, " is not a valid change command"));
  }
  return absl::OkStatus();
}

}  // namespace berth::image
