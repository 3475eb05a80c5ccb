#include "api/types/system.h"

namespace berth::api::types {

nlohmann::ordered_json toJson(const SystemVersion& v) {
  nlohmann::ordered_json details = {
      {"ApiVersion", v.apiVersion}, {"Arch", v.arch},         {"BuildTime", v.buildTime},
      {"Experimental", v.experimental ? "true" : "false"},    {"GitCommit", v.gitCommit},
      {"GoVersion", v.compiler},    {"KernelVersion", v.kernelVersion},
      {"MinAPIVersion", v.minApiVersion}, {"Os", v.os},
  };
  nlohmann::ordered_json j;
  j["Platform"] = {{"Name", v.platformName}};
  j["Components"] = nlohmann::ordered_json::array({{{"Name", "Engine"}, {"Version", v.version}, {"Details", details}}});
  j["Version"] = v.version;
  j["ApiVersion"] = v.apiVersion;
  j["MinAPIVersion"] = v.minApiVersion;
  j["GitCommit"] = v.gitCommit;
  j["GoVersion"] = v.compiler;
  j["Os"] = v.os;
  j["Arch"] = v.arch;
  j["KernelVersion"] = v.kernelVersion;
  j["Experimental"] = v.experimental;
  j["BuildTime"] = v.buildTime;
  return j;
}

nlohmann::ordered_json toJson(const SystemInfo& i) {
  nlohmann::ordered_json j;
  j["ID"] = i.id;
  j["Containers"] = i.containers;
  j["ContainersRunning"] = i.containersRunning;
  j["ContainersPaused"] = i.containersPaused;
  j["ContainersStopped"] = i.containersStopped;
  j["Images"] = i.images;
  j["Driver"] = i.driver;
  auto status = nlohmann::ordered_json::array();
  for (const auto& [k, v] : i.driverStatus) status.push_back({k, v});
  j["DriverStatus"] = status;
  j["DockerRootDir"] = i.dockerRootDir;
  j["Plugins"] = {{"Volume", {"local"}}, {"Network", {"bridge", "host", "none"}},
                  {"Authorization", nullptr}, {"Log", {"json-file"}}};
  j["MemoryLimit"] = i.memoryLimit;
  j["SwapLimit"] = i.swapLimit;
  j["KernelMemoryTCP"] = false;
  j["CpuCfsPeriod"] = i.cpuCfsPeriod;
  j["CpuCfsQuota"] = i.cpuCfsQuota;
  j["CPUShares"] = i.cpuShares;
  j["CPUSet"] = i.cpuSet;
  j["PidsLimit"] = i.pidsLimit;
  j["OomKillDisable"] = false;
  j["IPv4Forwarding"] = i.ipv4Forwarding;
  j["Debug"] = i.debug;
  j["NFd"] = i.nfd;
  j["NGoroutines"] = i.nThreads;
  j["SystemTime"] = i.systemTime;
  j["LoggingDriver"] = i.loggingDriver;
  j["CgroupDriver"] = i.cgroupDriver;
  j["CgroupVersion"] = i.cgroupVersion;
  j["NEventsListener"] = i.nEventsListener;
  j["KernelVersion"] = i.kernelVersion;
  j["OperatingSystem"] = i.operatingSystem;
  j["OSVersion"] = i.osVersion;
  j["OSType"] = i.osType;
  j["Architecture"] = i.architecture;
  j["NCPU"] = i.ncpu;
  j["MemTotal"] = i.memTotal;
  j["IndexServerAddress"] = i.indexServerAddress;
  j["RegistryConfig"] = {
      {"InsecureRegistryCIDRs", i.insecureRegistryCidrs},
      {"IndexConfigs",
       {{"docker.io", {{"Name", "docker.io"}, {"Mirrors", nlohmann::json::array()}, {"Secure", true}, {"Official", true}}}}},
      {"Mirrors", nlohmann::json::array()},
  };
  j["GenericResources"] = nullptr;
  j["HttpProxy"] = i.httpProxy;
  j["HttpsProxy"] = i.httpsProxy;
  j["NoProxy"] = i.noProxy;
  j["Name"] = i.name;
  j["Labels"] = i.labels;
  j["ExperimentalBuild"] = false;
  j["ServerVersion"] = i.serverVersion;
  j["Runtimes"] = {{i.defaultRuntime, {{"path", i.defaultRuntime}}}};
  j["DefaultRuntime"] = i.defaultRuntime;
  j["Swarm"] = {{"NodeID", ""}, {"NodeAddr", ""}, {"LocalNodeState", "inactive"}, {"ControlAvailable", false},
                {"Error", ""}, {"RemoteManagers", nullptr}};
  j["LiveRestoreEnabled"] = i.liveRestore;
  j["Isolation"] = "";
  j["InitBinary"] = "";
  j["ContainerdCommit"] = {{"ID", ""}};
  j["RuncCommit"] = {{"ID", ""}};
  j["InitCommit"] = {{"ID", ""}};
  j["SecurityOptions"] = i.securityOptions;
  j["CDISpecDirs"] = nlohmann::json::array();
  j["Warnings"] = i.warnings;
  return j;
}

nlohmann::ordered_json toJson(const DiskUsage& d) {
  nlohmann::ordered_json j;
  j["LayersSize"] = d.layersSize;
  j["Images"] = d.withImages ? d.images : nlohmann::ordered_json(nullptr);
  j["Containers"] = d.withContainers ? d.containers : nlohmann::ordered_json(nullptr);
  j["Volumes"] = d.withVolumes ? d.volumes : nlohmann::ordered_json(nullptr);
  j["BuildCache"] = d.withBuildCache ? d.buildCache : nlohmann::json(nullptr);
  return j;
}

}  // namespace berth::api::types
