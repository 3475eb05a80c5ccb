#include "api/types/body_schema.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "util/status.h"
#include "util/strings.h"

namespace berth::api::types {

enum class Kind {
  kString,
  kInt64,
  kUint16,
  kBool,
  kStringList,     // []string
  kStrSlice,       // strslice.StrSlice: a string or a list of strings
  kStringMap,      // map[string]string
  kObject,         // a map whose values Berth does not look into (a set, driver options)
  kUintList,       // ConsoleSize
  kStruct,         // nested
  kStructList,     // []nested
  kStructMap,      // map[string]nested
  kStructListMap,  // map[string][]nested (PortBindings)
};

struct Field {
  std::string_view name;
  Kind kind;
  const BodySchema* nested = nullptr;
};

struct BodySchema {
  std::string_view goName;
  std::vector<Field> fields;
};

namespace {

using json = nlohmann::json;

std::string goTypeName(const Field& f) {
  switch (f.kind) {
    case Kind::kString: return "string";
    case Kind::kInt64: return "int64";
    case Kind::kUint16: return "uint16";
    case Kind::kBool: return "bool";
    case Kind::kStringList: return "[]string";
    case Kind::kStrSlice: return "strslice.StrSlice";
    case Kind::kStringMap: return "map[string]string";
    case Kind::kObject: return "map[string]interface {}";
    case Kind::kUintList: return "[2]uint";
    case Kind::kStruct: return std::string(f.nested->goName);
    case Kind::kStructList: return strCat("[]", f.nested->goName);
    case Kind::kStructMap: return strCat("map[string]*", f.nested->goName);
    case Kind::kStructListMap: return strCat("map[string][]", f.nested->goName);
  }
  return "";
}

// How Go's encoding/json names a JSON value in UnmarshalTypeError: the kind,
// and for a number that does not fit an integer type the literal too.
std::string jsonKindName(const json& v, bool integerTarget) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "bool";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  if (v.is_number()) return integerTarget ? strCat("number ", v.dump()) : "number";
  return "null";
}

bool fitsInt64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max());
  return v.is_number_integer();
}

bool fitsUnsigned(const json& v, uint64_t max) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= max;
  return v.is_number_integer() && v.get<int64_t>() >= 0 && uint64_t(v.get<int64_t>()) <= max;
}

absl::Status checkStruct(const json& body, const BodySchema& schema, const std::string& path);

// `path` is the field's, from the body's root ("CreateRequest.HostConfig.Memory").
absl::Status checkField(const json& v, const Field& f, const std::string& path) {
  if (v.is_null()) return absl::OkStatus();
  auto wrong = [&](const json& at, std::string_view goType, bool integerTarget = false) {
    return absl::InvalidArgumentError(strCat("invalid JSON: json: cannot unmarshal ", jsonKindName(at, integerTarget),
                                             " into Go struct field ", path, " of type ", goType));
  };
  auto eachString = [&](const json& list) -> absl::Status {
    for (const json& e : list) {
      if (!e.is_string()) return wrong(e, "string");
    }
    return absl::OkStatus();
  };
  auto eachStruct = [&](const json& list) -> absl::Status {
    for (const json& e : list) {
      if (e.is_null()) continue;
      if (!e.is_object()) return wrong(e, f.nested->goName);
      BERTH_RETURN_IF_ERROR(checkStruct(e, *f.nested, path));
    }
    return absl::OkStatus();
  };
  switch (f.kind) {
    case Kind::kString:
      return v.is_string() ? absl::OkStatus() : wrong(v, goTypeName(f));
    case Kind::kBool:
      return v.is_boolean() ? absl::OkStatus() : wrong(v, goTypeName(f));
    case Kind::kInt64:
      return fitsInt64(v) ? absl::OkStatus() : wrong(v, goTypeName(f), true);
    case Kind::kUint16:
      return fitsUnsigned(v, 0xffff) ? absl::OkStatus() : wrong(v, goTypeName(f), true);
    case Kind::kStringList:
      return v.is_array() ? eachString(v) : wrong(v, goTypeName(f));
    case Kind::kStrSlice:
      if (v.is_string()) return absl::OkStatus();
      return v.is_array() ? eachString(v) : wrong(v, goTypeName(f));
    case Kind::kStringMap:
      return v.is_object() ? eachString(v) : wrong(v, goTypeName(f));
    case Kind::kObject:
      return v.is_object() ? absl::OkStatus() : wrong(v, goTypeName(f));
    case Kind::kUintList:
      if (!v.is_array()) return wrong(v, goTypeName(f));
      for (const json& e : v) {
        if (!fitsUnsigned(e, std::numeric_limits<uint32_t>::max())) return wrong(e, "uint", true);
      }
      return absl::OkStatus();
    case Kind::kStruct:
      if (!v.is_object()) return wrong(v, goTypeName(f));
      return checkStruct(v, *f.nested, path);
    case Kind::kStructList:
      return v.is_array() ? eachStruct(v) : wrong(v, goTypeName(f));
    case Kind::kStructMap:
      return v.is_object() ? eachStruct(v) : wrong(v, goTypeName(f));
    case Kind::kStructListMap:
      if (!v.is_object()) return wrong(v, goTypeName(f));
      for (const json& list : v) {
        if (list.is_null()) continue;
        if (!list.is_array()) return wrong(list, strCat("[]", f.nested->goName));
        BERTH_RETURN_IF_ERROR(eachStruct(list));
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status checkStruct(const json& body, const BodySchema& schema, const std::string& path) {
  for (const Field& f : schema.fields) {
    auto it = body.find(f.name);
    if (it == body.end()) continue;
    BERTH_RETURN_IF_ERROR(checkField(*it, f, strCat(path, ".", f.name)));
  }
  return absl::OkStatus();
}

}  // namespace

// Field lists follow the v1.51 API reference (ContainerConfig, HostConfig,
// Resources, NetworkingConfig, ExecConfig).
namespace {

const BodySchema kHealthConfig{"container.HealthConfig",
                               {{"Test", Kind::kStrSlice},
                                {"Interval", Kind::kInt64},
                                {"Timeout", Kind::kInt64},
                                {"Retries", Kind::kInt64},
                                {"StartPeriod", Kind::kInt64},
                                {"StartInterval", Kind::kInt64}}};

const BodySchema kRestartPolicy{"container.RestartPolicy",
                                {{"Name", Kind::kString}, {"MaximumRetryCount", Kind::kInt64}}};

const BodySchema kLogConfig{"container.LogConfig", {{"Type", Kind::kString}, {"Config", Kind::kStringMap}}};

const BodySchema kPortBinding{"nat.PortBinding", {{"HostIp", Kind::kString}, {"HostPort", Kind::kString}}};

const BodySchema kUlimit{"container.Ulimit", {{"Name", Kind::kString}, {"Soft", Kind::kInt64}, {"Hard", Kind::kInt64}}};

const BodySchema kDeviceMapping{
    "container.DeviceMapping",
    {{"PathOnHost", Kind::kString}, {"PathInContainer", Kind::kString}, {"CgroupPermissions", Kind::kString}}};

const BodySchema kWeightDevice{"blkiodev.WeightDevice", {{"Path", Kind::kString}, {"Weight", Kind::kUint16}}};
const BodySchema kThrottleDevice{"blkiodev.ThrottleDevice", {{"Path", Kind::kString}, {"Rate", Kind::kInt64}}};

const BodySchema kBindOptions{"mount.BindOptions",
                              {{"Propagation", Kind::kString},
                               {"NonRecursive", Kind::kBool},
                               {"CreateMountpoint", Kind::kBool},
                               {"ReadOnlyNonRecursive", Kind::kBool},
                               {"ReadOnlyForceRecursive", Kind::kBool}}};
const BodySchema kDriverConfig{"mount.Driver", {{"Name", Kind::kString}, {"Options", Kind::kStringMap}}};
const BodySchema kVolumeOptions{"mount.VolumeOptions",
                                {{"NoCopy", Kind::kBool},
                                 {"Labels", Kind::kStringMap},
                                 {"DriverConfig", Kind::kStruct, &kDriverConfig},
                                 {"Subpath", Kind::kString}}};
const BodySchema kTmpfsOptions{"mount.TmpfsOptions", {{"SizeBytes", Kind::kInt64}, {"Mode", Kind::kInt64}}};
const BodySchema kMount{"mount.Mount",
                        {{"Type", Kind::kString},
                         {"Source", Kind::kString},
                         {"Target", Kind::kString},
                         {"ReadOnly", Kind::kBool},
                         {"Consistency", Kind::kString},
                         {"BindOptions", Kind::kStruct, &kBindOptions},
                         {"VolumeOptions", Kind::kStruct, &kVolumeOptions},
                         {"TmpfsOptions", Kind::kStruct, &kTmpfsOptions}}};

// Resources, shared by HostConfig and the update body.
#define BERTH_RESOURCE_FIELDS                                                                              \
  {"CpuShares", Kind::kInt64}, {"Memory", Kind::kInt64}, {"CgroupParent", Kind::kString},                  \
      {"BlkioWeight", Kind::kUint16}, {"BlkioWeightDevice", Kind::kStructList, &kWeightDevice},            \
      {"BlkioDeviceReadBps", Kind::kStructList, &kThrottleDevice},                                         \
      {"BlkioDeviceWriteBps", Kind::kStructList, &kThrottleDevice},                                        \
      {"BlkioDeviceReadIOps", Kind::kStructList, &kThrottleDevice},                                        \
      {"BlkioDeviceWriteIOps", Kind::kStructList, &kThrottleDevice}, {"CpuPeriod", Kind::kInt64},         \
      {"CpuQuota", Kind::kInt64}, {"CpuRealtimePeriod", Kind::kInt64}, {"CpuRealtimeRuntime", Kind::kInt64}, \
      {"CpusetCpus", Kind::kString}, {"CpusetMems", Kind::kString},                                        \
      {"Devices", Kind::kStructList, &kDeviceMapping}, {"DeviceCgroupRules", Kind::kStringList},           \
      {"KernelMemoryTCP", Kind::kInt64}, {"MemoryReservation", Kind::kInt64}, {"MemorySwap", Kind::kInt64}, \
      {"MemorySwappiness", Kind::kInt64}, {"NanoCpus", Kind::kInt64}, {"OomKillDisable", Kind::kBool},     \
      {"Init", Kind::kBool}, {"PidsLimit", Kind::kInt64}, {"Ulimits", Kind::kStructList, &kUlimit},        \
      {"CpuCount", Kind::kInt64}, {"CpuPercent", Kind::kInt64}, {"IOMaximumIOps", Kind::kInt64},           \
      {"IOMaximumBandwidth", Kind::kInt64}

const BodySchema kHostConfig{"container.HostConfig",
                             {BERTH_RESOURCE_FIELDS,
                              {"Binds", Kind::kStringList},
                              {"ContainerIDFile", Kind::kString},
                              {"LogConfig", Kind::kStruct, &kLogConfig},
                              {"NetworkMode", Kind::kString},
                              {"PortBindings", Kind::kStructListMap, &kPortBinding},
                              {"RestartPolicy", Kind::kStruct, &kRestartPolicy},
                              {"AutoRemove", Kind::kBool},
                              {"VolumeDriver", Kind::kString},
                              {"VolumesFrom", Kind::kStringList},
                              {"Mounts", Kind::kStructList, &kMount},
                              {"ConsoleSize", Kind::kUintList},
                              {"Annotations", Kind::kStringMap},
                              {"CapAdd", Kind::kStrSlice},
                              {"CapDrop", Kind::kStrSlice},
                              {"CgroupnsMode", Kind::kString},
                              {"Dns", Kind::kStringList},
                              {"DnsOptions", Kind::kStringList},
                              {"DnsSearch", Kind::kStringList},
                              {"ExtraHosts", Kind::kStringList},
                              {"GroupAdd", Kind::kStringList},
                              {"IpcMode", Kind::kString},
                              {"Cgroup", Kind::kString},
                              {"Links", Kind::kStringList},
                              {"OomScoreAdj", Kind::kInt64},
                              {"PidMode", Kind::kString},
                              {"Privileged", Kind::kBool},
                              {"PublishAllPorts", Kind::kBool},
                              {"ReadonlyRootfs", Kind::kBool},
                              {"SecurityOpt", Kind::kStringList},
                              {"StorageOpt", Kind::kStringMap},
                              {"Tmpfs", Kind::kStringMap},
                              {"UTSMode", Kind::kString},
                              {"UsernsMode", Kind::kString},
                              {"ShmSize", Kind::kInt64},
                              {"Sysctls", Kind::kStringMap},
                              {"Runtime", Kind::kString},
                              {"Isolation", Kind::kString},
                              {"MaskedPaths", Kind::kStringList},
                              {"ReadonlyPaths", Kind::kStringList}}};

const BodySchema kIpamConfig{"network.EndpointIPAMConfig",
                             {{"IPv4Address", Kind::kString},
                              {"IPv6Address", Kind::kString},
                              {"LinkLocalIPs", Kind::kStringList}}};

const BodySchema kEndpointSettings{"network.EndpointSettings",
                                   {{"IPAMConfig", Kind::kStruct, &kIpamConfig},
                                    {"Links", Kind::kStringList},
                                    {"Aliases", Kind::kStringList},
                                    {"MacAddress", Kind::kString},
                                    {"DriverOpts", Kind::kStringMap},
                                    {"GwPriority", Kind::kInt64},
                                    {"NetworkID", Kind::kString},
                                    {"EndpointID", Kind::kString},
                                    {"Gateway", Kind::kString},
                                    {"IPAddress", Kind::kString},
                                    {"IPPrefixLen", Kind::kInt64},
                                    {"IPv6Gateway", Kind::kString},
                                    {"GlobalIPv6Address", Kind::kString},
                                    {"GlobalIPv6PrefixLen", Kind::kInt64},
                                    {"DNSNames", Kind::kStringList}}};

const BodySchema kNetworkingConfig{"network.NetworkingConfig",
                                   {{"EndpointsConfig", Kind::kStructMap, &kEndpointSettings}}};

}  // namespace

const BodySchema kContainerCreateBody{"container.CreateRequest",
                                      {{"Hostname", Kind::kString},
                                       {"Domainname", Kind::kString},
                                       {"User", Kind::kString},
                                       {"AttachStdin", Kind::kBool},
                                       {"AttachStdout", Kind::kBool},
                                       {"AttachStderr", Kind::kBool},
                                       {"ExposedPorts", Kind::kObject},
                                       {"Tty", Kind::kBool},
                                       {"OpenStdin", Kind::kBool},
                                       {"StdinOnce", Kind::kBool},
                                       {"Env", Kind::kStringList},
                                       {"Cmd", Kind::kStrSlice},
                                       {"Healthcheck", Kind::kStruct, &kHealthConfig},
                                       {"ArgsEscaped", Kind::kBool},
                                       {"Image", Kind::kString},
                                       {"Volumes", Kind::kObject},
                                       {"WorkingDir", Kind::kString},
                                       {"Entrypoint", Kind::kStrSlice},
                                       {"NetworkDisabled", Kind::kBool},
                                       {"MacAddress", Kind::kString},
                                       {"OnBuild", Kind::kStringList},
                                       {"Labels", Kind::kStringMap},
                                       {"StopSignal", Kind::kString},
                                       {"StopTimeout", Kind::kInt64},
                                       {"Shell", Kind::kStrSlice},
                                       {"HostConfig", Kind::kStruct, &kHostConfig},
                                       {"NetworkingConfig", Kind::kStruct, &kNetworkingConfig}}};

const BodySchema kContainerUpdateBody{"container.UpdateConfig",
                                      {BERTH_RESOURCE_FIELDS, {"RestartPolicy", Kind::kStruct, &kRestartPolicy}}};

#undef BERTH_RESOURCE_FIELDS

const BodySchema kExecCreateBody{"container.ExecOptions",
                                 {{"User", Kind::kString},
                                  {"Privileged", Kind::kBool},
                                  {"Tty", Kind::kBool},
                                  {"ConsoleSize", Kind::kUintList},
                                  {"AttachStdin", Kind::kBool},
                                  {"AttachStderr", Kind::kBool},
                                  {"AttachStdout", Kind::kBool},
                                  {"Detach", Kind::kBool},
                                  {"DetachKeys", Kind::kString},
                                  {"Env", Kind::kStringList},
                                  {"WorkingDir", Kind::kString},
                                  {"Cmd", Kind::kStringList}}};

namespace {
const BodySchema kIpamPool{"network.IPAMConfig",
                           {{"Subnet", Kind::kString},
                            {"IPRange", Kind::kString},
                            {"Gateway", Kind::kString},
                            {"AuxiliaryAddresses", Kind::kStringMap}}};
const BodySchema kIpam{"network.IPAM",
                       {{"Driver", Kind::kString},
                        {"Config", Kind::kStructList, &kIpamPool},
                        {"Options", Kind::kStringMap}}};
const BodySchema kConfigReference{"network.ConfigReference", {{"Network", Kind::kString}}};
}  // namespace

const BodySchema kNetworkCreateBody{"network.CreateRequest",
                                    {{"Name", Kind::kString},
                                     {"CheckDuplicate", Kind::kBool},
                                     {"Driver", Kind::kString},
                                     {"Scope", Kind::kString},
                                     {"EnableIPv4", Kind::kBool},
                                     {"EnableIPv6", Kind::kBool},
                                     {"IPAM", Kind::kStruct, &kIpam},
                                     {"Internal", Kind::kBool},
                                     {"Attachable", Kind::kBool},
                                     {"Ingress", Kind::kBool},
                                     {"ConfigOnly", Kind::kBool},
                                     {"ConfigFrom", Kind::kStruct, &kConfigReference},
                                     {"Options", Kind::kStringMap},
                                     {"Labels", Kind::kStringMap}}};

const BodySchema kNetworkConnectBody{"network.ConnectOptions",
                                     {{"Container", Kind::kString},
                                      {"EndpointConfig", Kind::kStruct, &kEndpointSettings}}};

const BodySchema kNetworkDisconnectBody{"network.DisconnectOptions",
                                        {{"Container", Kind::kString}, {"Force", Kind::kBool}}};

const BodySchema kVolumeCreateBody{"volume.CreateOptions",
                                   {{"Name", Kind::kString},
                                    {"Driver", Kind::kString},
                                    {"DriverOpts", Kind::kStringMap},
                                    {"Labels", Kind::kStringMap},
                                    {"ClusterVolumeSpec", Kind::kObject}}};

absl::Status checkBodyTypes(const nlohmann::json& body, const BodySchema& schema) {
  if (!body.is_object()) return absl::OkStatus();  // the caller's own check names what it wanted
  std::string_view root = schema.goName;
  root.remove_prefix(root.find('.') + 1);  // "CreateRequest", as Go prints a struct's name
  return checkStruct(body, schema, std::string(root));
}

}  // namespace berth::api::types
