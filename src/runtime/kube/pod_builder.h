#pragma once
// From a container's runtime spec to the Pod that runs it: a pure function,
// so every mapping rule is unit-tested without a cluster.
//
// The pod: an emptyDir at /.berth; an init container from Berth's helper
// image copies the static helper there; the main container runs the
// image's process under the helper (`/.berth/berth-kubehelper run -- …`),
// which keeps stdout and stderr apart in a log file, delivers signals, and
// can hold the process until archives copied before start have landed. A
// sidecar from the helper image ("berth") stays up after the process exits,
// so its log (and later its files) can still be read through exec.
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/spec.h"

namespace berth::runtime::kube {

// Label and annotation keys on everything Berth makes.
inline constexpr const char* kInstanceLabel = "berth.dev/instance";
inline constexpr const char* kContainerLabel = "berth.dev/container";  // the id's first 12 characters
inline constexpr const char* kIdAnnotation = "berth.dev/id";
inline constexpr const char* kNameAnnotation = "berth.dev/name";
inline constexpr const char* kMainContainer = "main";
inline constexpr const char* kSidecarContainer = "berth";
inline constexpr const char* kHelperDir = "/.berth";
inline constexpr const char* kHelperBinary = "berth-kubehelper";

struct ResourceRequest {
  std::string request, limit;  // Kubernetes quantities; empty: none
};

struct PodOptions {
  std::string instance;  // this daemon's id (label value)
  std::string namePrefix = "berth";
  std::string helperImage;
  std::string pullPolicy;  // Always, IfNotPresent, Never; empty: the cluster's default
  std::string containerPullPolicy;  // a container's label: its own image only (not the helper's)
  std::vector<std::string> imagePullSecrets;
  std::string serviceAccount;
  std::map<std::string, std::string> nodeSelector, labels, annotations;
  int64_t activeDeadlineSeconds = 0;  // 0: none
  int64_t runAsUser = -1;             // -1: the image's user (or the container's User)
  ResourceRequest cpu, memory, ephemeralStorage;
  bool ignoreContainerMemory = false;  // --ignore-container-memory: no memory limit from -m
  nlohmann::json podTemplate;          // --pod-template (pod_template.h); null: none
};

// How a bind mount reaches the pod; the runtime has opened its source
// (bind_source.h). A directory: an emptyDir that the runtime fills through
// the gate, from the sidecar, where it is at bindStagingDir (so a read-only
// bind can still be filled). A regular file: its key in the container's
// ConfigMap (buildBindFiles), mounted as a file.
struct BindMount {
  bool directory = false;
  uint32_t fileMode = 0644;
  // A Docker socket (a socket source, or docker.sock): nothing is copied;
  // the sidecar serves Berth's own API at the destination, in an emptyDir
  // at its directory, reached by Berth through pods/portforward to
  // kSocketTunnelPort (helper/docker_socket.h). One per container.
  bool socket = false;
};

inline constexpr uint16_t kSocketTunnelPort = 47535;                    // on the pod's loopback only
inline constexpr const char* kSocketAnnotation = "berth.dev/docker-socket";  // the pod serves one (its tunnel port)

// Where the sidecar serves the Docker socket mounted at `destination`.
std::string sidecarSocketPath(const std::string& destination);

struct PodRun {
  bool openStdin = false, stdinOnce = false;
  bool gate = false;  // the helper waits for `release` (archives to copy before the process runs)
  int64_t stopTimeoutSeconds = 10;
  std::map<size_t, BindMount> binds;  // by index in spec.mounts: each bind that is not a volume
};

// Where the sidecar sees the emptyDir of the bind mount at `mountIndex`.
std::string bindStagingDir(size_t mountIndex);

// The ConfigMap holding the container's file binds (by mount index), named
// as its pod; mounted read-only, as ConfigMaps are.
nlohmann::json buildBindFiles(const ContainerSpec& spec, const PodOptions& options,
                              const std::map<size_t, std::string>& contents);

// hostAliases from /etc/hosts lines ("ip\tname alias…"), one entry per
// address in first-seen order; names Kubernetes would refuse are left out.
absl::StatusOr<nlohmann::json> hostAliases(const std::vector<std::string>& hostsLines);

// A ClusterIP Service for the container's ports, named as its pod and
// selecting it: a stable address for in-cluster clients. Null when the
// container has no ports.
nlohmann::json buildService(const ContainerSpec& spec, const PodOptions& options);

// The pod's name for a container id.
std::string podName(const PodOptions& options, const std::string& containerId);

// InvalidArgument for what a pod cannot be (a user name rather than a
// number, a bind the runtime has not opened). A volume with a handle is
// its PersistentVolumeClaim; other volumes are emptyDirs, as long-lived as the pod.
absl::StatusOr<nlohmann::json> buildPod(const ContainerSpec& spec, const PodOptions& options, const PodRun& run);

}  // namespace berth::runtime::kube
