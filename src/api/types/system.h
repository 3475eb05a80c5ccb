#pragma once
// DTOs of the system area: GET /version (SystemVersion), GET /info
// (SystemInfo), GET /system/df (SystemDataUsageResponse).
#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace berth::api::types {

struct SystemVersion {
  std::string platformName;   // "Berth Engine"
  std::string version;        // semver of berth
  std::string apiVersion;     // "1.51"
  std::string minApiVersion;  // "1.24"
  std::string gitCommit;
  std::string compiler;       // reported as GoVersion: what built the server
  std::string os;             // "linux"
  std::string arch;           // Go naming: "amd64"
  std::string kernelVersion;
  std::string buildTime;      // RFC 3339
  bool experimental = false;
};
nlohmann::ordered_json toJson(const SystemVersion& v);

struct SystemInfo {
  std::string id;
  int64_t containers = 0, containersRunning = 0, containersPaused = 0, containersStopped = 0, images = 0;
  std::string driver;
  std::vector<std::pair<std::string, std::string>> driverStatus;
  std::string dockerRootDir;
  bool debug = false;
  int64_t nfd = 0;
  int64_t nThreads = 0;  // reported as NGoroutines: the daemon's threads
  std::string systemTime;
  std::string loggingDriver;
  std::string cgroupDriver, cgroupVersion;
  int64_t nEventsListener = 0;
  std::string kernelVersion, operatingSystem, osVersion, osType, architecture;
  int ncpu = 0;
  int64_t memTotal = 0;
  std::string indexServerAddress;
  std::vector<std::string> insecureRegistryCidrs;
  std::string httpProxy, httpsProxy, noProxy;
  std::string name;
  std::vector<std::string> labels;
  std::string serverVersion;
  std::string defaultRuntime;
  std::vector<std::string> securityOptions;
  std::vector<std::string> warnings;
  bool liveRestore = false;  // containers outlive a daemon restart
  // Resource controls the host offers (what `docker info` warns about when false).
  bool memoryLimit = false, swapLimit = false, cpuCfsPeriod = false, cpuCfsQuota = false, cpuShares = false,
       cpuSet = false, pidsLimit = false, ipv4Forwarding = false;
};
nlohmann::ordered_json toJson(const SystemInfo& i);

struct DiskUsage {
  int64_t layersSize = 0;
  // Each list is present only when its type was asked for (or no type was).
  bool withImages = true, withContainers = true, withVolumes = true, withBuildCache = true;
  nlohmann::ordered_json images = nlohmann::ordered_json::array();  // ImageSummary shapes
  nlohmann::ordered_json containers = nlohmann::ordered_json::array();  // ContainerSummary shapes
  nlohmann::ordered_json volumes = nlohmann::ordered_json::array();  // Volume shapes with UsageData
  nlohmann::json buildCache = nlohmann::json::array();
};
nlohmann::ordered_json toJson(const DiskUsage& d);

}  // namespace berth::api::types
