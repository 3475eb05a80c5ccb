#include "runtime/kube/pod_template.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "util/strings.h"

namespace berth::runtime::kube {
namespace {

using json = nlohmann::json;

// YAML's plain scalars keep their types (runAsUser: 1000 is a number);
// quoted ones are strings.
json scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "!") {
    if (text == "true" || text == "True") return true;
    if (text == "false" || text == "False") return false;
    if (text == "null" || text == "~" || text.empty()) return nullptr;
    int64_t n = 0;
    if (parseInt(text, n)) return n;
    json number = json::parse(text, nullptr, false);
    if (number.is_number()) return number;
  }
  return text;
}

json fromYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = fromYaml(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(fromYaml(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar(node);
    default:
      return nullptr;
  }
}

// `top` over `base`: objects key by key, anything else replaced.
json overlay(json base, const json& top) {
  if (!base.is_object() || !top.is_object()) return top;
  for (auto it = top.begin(); it != top.end(); ++it) {
    base[it.key()] = base.contains(it.key()) ? overlay(base[it.key()], it.value()) : it.value();
  }
  return base;
}

// Entries of `base` whose names `top` lacks, then `top`'s (env, imagePullSecrets).
json byName(const json& base, const json& top) {
  if (!base.is_array()) return top;
  if (!top.is_array()) return base;
  std::set<std::string> names;
  for (const json& e : top) {
    if (e.is_object()) names.insert(e.value("name", ""));
  }
  json out = json::array();
  for (const json& e : base) {
    if (!e.is_object() || !names.contains(e.value("name", ""))) out.push_back(e);
  }
  for (const json& e : top) out.push_back(e);
  return out;
}

json overContainer(const json& base, const json& container) {
  json merged = overlay(base, container);
  if (base.contains("env") || container.contains("env")) {
    merged["env"] = byName(base.value("env", json::array()), container.value("env", json::array()));
  }
  return merged;
}

}  // namespace

absl::StatusOr<json> loadPodTemplate(const std::string& path) {
  json pod;
  try {
    pod = fromYaml(YAML::LoadFile(path));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(strCat("--pod-template ", path, ": ", e.what()));
  }
  if (!pod.is_object() || (pod.contains("kind") && pod["kind"] != "Pod")) {
    return absl::InvalidArgumentError(strCat("--pod-template ", path, ": not a Pod"));
  }
  if (pod.contains("spec") && !pod["spec"].is_object()) {
    return absl::InvalidArgumentError(strCat("--pod-template ", path, ": its spec is not a map"));
  }
  const json spec = pod.value("spec", json::object());
  if (spec.contains("containers") && (!spec["containers"].is_array() || (!spec["containers"].empty() && !spec["containers"][0].is_object()))) {
    return absl::InvalidArgumentError(strCat("--pod-template ", path, ": its containers are not a list of containers"));
  }
  return pod;
}

json applyPodTemplate(const json& podTemplate, json pod) {
  if (!podTemplate.is_object()) return pod;
  const json meta = podTemplate.value("metadata", json::object());
  for (const char* key : {"labels", "annotations"}) {
    if (meta.is_object() && meta.contains(key) && meta[key].is_object()) {
      pod["metadata"][key] = overlay(meta[key], pod["metadata"].value(key, json::object()));
    }
  }
  json spec = podTemplate.value("spec", json::object());
  json container = json::object();
  if (spec.contains("containers") && spec["containers"].is_array() && !spec["containers"].empty()) {
    container = spec["containers"][0];
    for (const char* own : {"name", "image", "command", "args", "ports", "volumeMounts", "volumeDevices", "workingDir",
                            "stdin", "stdinOnce", "tty"}) {
      container.erase(own);
    }
  }
  for (const char* own : {"volumes", "containers", "initContainers", "ephemeralContainers", "nodeName"}) spec.erase(own);
  json& ours = pod["spec"];
  json merged = overlay(spec, ours);
  if (spec.contains("imagePullSecrets") && ours.contains("imagePullSecrets")) {
    merged["imagePullSecrets"] = byName(spec["imagePullSecrets"], ours["imagePullSecrets"]);
  }
  for (const char* list : {"initContainers", "containers"}) {
    if (!merged.contains(list)) continue;
    for (json& c : merged[list]) c = overContainer(container, c);
  }
  ours = std::move(merged);
  return pod;
}

}  // namespace berth::runtime::kube
