#include "runtime/spec.h"

#include "nlohmann/json.hpp"

namespace berth::runtime {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Mount, type, source, destination, readOnly, propagation, options, volume,
                                                volumeHandle, copyUp)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Rlimit, name, soft, hard)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(IdMapping, containerId, hostId, size)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Resources, memory, memorySwap, memoryReservation, cpuShares,
                                                cpuPeriod, cpuQuota, cpusetCpus, cpusetMems, pidsLimit)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Port, containerPort, protocol)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ContainerSpec, id, name, image, labels, ports, lowerDirs, upperDir, workDir, rootfs,
                                                readonlyRootfs, args, env, cwd, user, groupAdd, terminal,
                                                capabilities, noNewPrivileges, seccomp, rlimits, oomScoreAdj, init,
                                                hostname, domainname, mounts, hostsFile, resolvConfFile,
                                                hostnameFile, maskedPaths, readonlyPaths, privileged, shmSize,
                                                sysctls, netMode, netnsPath, resolvConf, extraHosts, ipAddress, pidMode, ipcMode, utsMode, uidMappings,
                                                gidMappings, cgroupPaths, resources)

std::string toJson(const ContainerSpec& spec) { return nlohmann::json(spec).dump(); }

absl::StatusOr<ContainerSpec> specFromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("container spec is not a JSON object");
  try {
    return j.get<ContainerSpec>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(std::string("container spec: ") + e.what());
  }
}

}  // namespace berth::runtime
