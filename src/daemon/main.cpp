// berth: the command line. Parses flags into a DaemonConfig and hands over to
// the composition root; nothing else happens here.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "CLI/CLI.hpp"
#include "daemon/build_info.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/rootless_namespaces.h"
#include "image/registry/http_helper.h"
#include "runtime/local/container_setup.h"

namespace {

using berth::daemon::DaemonConfig;

// The kube backend's: kubedock's names and meanings, so its users can switch.
void addKubeFlags(CLI::App& serve, DaemonConfig& c) {
  const char* group = "Kube backend (--backend kube)";
  auto opt = [&](const char* name, auto& target, const char* help) {
    return serve.add_option(name, target, help)->group(group);
  };
  opt("--kubeconfig", c.kubeconfig,
      "kubeconfig file [default: the first of $KUBECONFIG, ~/.kube/config, else the pod's service account]");
  opt("--context", c.kubeContext, "kubeconfig context [default: its current context]");
  opt("--namespace", c.kubeNamespace, "Namespace of the pods [default: the context's, or the service account's]");
  opt("--timeout", c.kubeTimeout, "How long a start may wait for its pod to run (scheduling, pulling): 90s, 2m")
      ->capture_default_str();
  opt("--helper-image,--initimage,--dindimage", c.helperImage,
      "repository:tag in a registry the cluster pulls from; Berth publishes its in-pod helper there at start "
      "(required with --backend kube)");
  opt("--pod-name-prefix", c.podNamePrefix, "Pods are named <prefix>-<container id, 12 digits>")->capture_default_str();
  opt("--pull-policy", c.pullPolicy, "Image pull policy of the pods: always, ifnotpresent or never "
      "[default: the cluster's]");
  opt("--image-pull-secrets", c.imagePullSecrets, "Secrets the pods pull images with (repeatable or comma-separated)");
  opt("--service-account", c.serviceAccount, "Service account the pods run as [default: the namespace's default]");
  opt("--node-selector", c.nodeSelector, "key=value the pods' nodes must carry (repeatable or comma-separated)");
  opt("--active-deadline-seconds", c.activeDeadlineSeconds, "Seconds a pod may run before Kubernetes stops it; -1: no limit")
      ->capture_default_str();
  opt("--runas-user", c.runasUser, "User id every pod's process runs as; -1: the container's")->capture_default_str();
  serve.add_flag("--ignore-container-memory", c.ignoreContainerMemory, "Do not turn -m/--memory into a pod memory limit")
      ->group(group);
  opt("--request-cpu", c.requestCpu, "CPU request[,limit] of every pod, e.g. 100m,1");
  opt("--request-memory", c.requestMemory, "Memory request[,limit] of every pod, e.g. 128Mi,1Gi");
  opt("--request-ephemeral-storage", c.requestEphemeralStorage, "Ephemeral storage request[,limit] of every pod");
  opt("--pod-label", c.podLabels, "key=value label on every pod (repeatable; also K8S_LABEL_<NAME>=value)");
  opt("--annotation", c.podAnnotations, "key=value annotation on every pod (repeatable; also K8S_ANNOTATION_<NAME>=value)");
  serve.add_flag("--port-forward", c.portForward,
                 "Bind published ports here and carry each connection through pods/portforward")->group(group);
  serve.add_flag("--reverse-proxy", c.reverseProxy,
                 "Bind published ports here and relay each connection to the pod's IP (needs a route to pods)")
      ->group(group);
  serve.add_flag("--disable-dind", c.disableDind,
                 "Serve no Docker socket in pods: a bind of one (-v /var/run/docker.sock:…) is refused")->group(group);
  serve.add_flag("--prune-start", c.pruneStart,
                 "At start, remove every Berth pod, Service, ConfigMap and volume claim (any instance's) of the namespace")
      ->group(group);
  serve.add_flag("--lock", c.lock, "One Berth at a time in the namespace: hold a Lease (berth-lock), waiting for it at start")
      ->group(group);
  opt("--pod-template", c.podTemplate, "A Pod in YAML every pod starts from: its labels, annotations and spec fields, "
      "and its first container under every container; Berth's own settings win");
  opt("--lock-timeout", c.lockTimeout, "How long a start with --lock waits for the Lease")->capture_default_str();
  opt("--reapmax", c.reapMax, "Remove this daemon's containers this long after their creation, and other Berth "
      "instances' leftover pods 15 minutes later; 0: never")->capture_default_str();
  opt("--bind-root", c.bindRoots, "Directory whose contents binds (-v /path:/dest) may copy into pods (repeatable); "
      "binds from anywhere else are refused");
  opt("--storage-class", c.storageClass, "Named volumes become PersistentVolumeClaims of this storage class, shared "
      "by their containers and kept until `docker volume rm` [default: none; volumes are emptyDirs]");
  opt("--volume-size", c.volumeSize, "The storage a volume's claim requests (docker volume create -o size=… "
      "overrides it)")->capture_default_str();
}

void addServeFlags(CLI::App& serve, DaemonConfig& c) {
  serve.add_option("-H,--host", c.hosts,
                   "Where to listen (repeatable): unix:///path, tcp://host[:port] or fd:// "
                   "[default: unix:///run/berth/berth.sock as root, unix://$XDG_RUNTIME_DIR/berth/berth.sock "
                   "as a user]");
  serve.add_option("--data-root", c.dataRoot,
                   "Root of persistent state [default: /var/lib/berth as root, $XDG_DATA_HOME/berth as a user]");
  serve.add_option("--backend", c.backend, "Where containers run: local or kube")->capture_default_str();
  serve.add_option("--config-file", c.configFile,
                   "JSON config file with the long flags' names as keys; flags win [default: "
                   "/etc/berth/daemon.json as root, $XDG_CONFIG_HOME/berth/daemon.json as a user, if present]");
  serve.add_option("-l,--log-level", c.logLevel, "Log level: debug, info, warn, error or fatal")->capture_default_str();
  serve.add_option("--log-format", c.logFormat, "Log format: text (logfmt) or json")->capture_default_str();
  serve.add_flag("-D,--debug", c.debug, "Debug mode: log level debug");
  serve.add_option("--label", c.labels, "Daemon label key=value, shown by docker info (repeatable)");
  serve.add_option("-G,--group", c.group, "Group that owns the unix sockets (mode 0660)");
  serve.add_flag("--tls", c.tls, "Serve TCP listeners with TLS (implied by --tlsverify)");
  serve.add_flag("--tlsverify", c.tlsVerify, "Use TLS and require client certificates signed by --tlscacert");
  serve.add_option("--tlscacert", c.tlsCaCert, "CA that client certificates must be signed by");
  serve.add_option("--tlscert", c.tlsCert, "Server TLS certificate");
  serve.add_option("--tlskey", c.tlsKey, "Server TLS key");
  serve.add_flag("--insecure-tcp", c.insecureTcp,
                 "Allow plain TCP on a non-loopback address (anyone who reaches it controls the machine)");
  serve.add_option("--request-read-timeout", c.requestReadTimeout,
                   "Seconds a started request may take to send its header (and each body read); idle "
                   "keep-alive connections are never timed out")
      ->capture_default_str();
  serve.add_option("--shutdown-timeout", c.shutdownTimeout,
                   "Seconds in-flight requests may take to finish on SIGTERM/SIGINT")
      ->capture_default_str();
  serve.add_option("--insecure-registry", c.insecureRegistries,
                   "Registry (host[:port] or IPv4 CIDR) that may be reached over plain HTTP (repeatable); "
                   "loopback registries always may");
  serve.add_option("--max-concurrent-downloads", c.maxConcurrentDownloads, "Layers a pull downloads at once")
      ->capture_default_str();
  serve.add_option("--host-gateway-ip", c.hostGatewayIp,
                   "IPv4 address that --add-host name:host-gateway stands for [default: the default bridge's "
                   "gateway as root; as a user, the host's address on its default route, reached through slirp4netns]");
  serve.add_option("--max-layer-bytes", c.maxLayerBytes,
                   "Largest unpacked size of one layer; a larger one fails the pull (decompression bombs)")
      ->capture_default_str();
  addKubeFlags(serve, c);
}

// Long names of the options given on the command line ("host", "data-root").
std::set<std::string> givenFlags(const CLI::App& serve) {
  std::set<std::string> out;
  for (const CLI::Option* o : serve.get_options()) {
    if (o->count() > 0 && !o->get_lnames().empty()) out.insert(o->get_lnames().front());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Started by a container's monitor, not by hand: set up and exec the
  // container (runtime/local/container_setup.cpp). Before anything else
  // so this process stays single-threaded.
  // _exit: no exit-time work (static destructors, the sanitizers' leak
  // check) may run in a process that entered a container's namespaces.
  if (argc == 3 && std::string_view(argv[1]) == "__container-setup") {
    _exit(berth::runtime::local::containerSetupMain(argv[2]));
  }
  if (argc == 3 && std::string_view(argv[1]) == "__container-exec") {
    _exit(berth::runtime::local::containerExecMain(argv[2]));
  }
  if (argc == 3 && std::string_view(argv[1]) == "__rootless-holder") {
    _exit(berth::daemon::rootlessHolderMain());
  }
  // The daemon's registry HTTP (image/registry/http_helper.h): fd 3 is its
  // control socket, argv[2] the host-socket channel's fd or -1.
  if (argc == 3 && std::string_view(argv[1]) == "__http-helper") {
    _exit(berth::registry::httpHelperMain(3, std::atoi(argv[2])));
  }
  // glibc gives each thread that allocates its own arena; the daemon's few
  // threads allocate little, so two arenas keep idle memory down.
  mallopt(M_ARENA_MAX, 2);
  CLI::App app{"Berth: a daemonless engine that serves the Docker Engine API"};
  app.require_subcommand(0, 1);
  bool showVersion = false;
  app.add_flag("-v,--version", showVersion, "Print the version and exit");
  DaemonConfig cfg;
  CLI::App* serve = app.add_subcommand("serve", "Serve the Docker Engine API (see docs/daemon.md)");
  addServeFlags(*serve, cfg);
  CLI11_PARSE(app, argc, argv);

  if (showVersion) {
    std::printf("berth version %s, build %s\n", berth::build::kVersion, berth::build::kGitCommit);
    return 0;
  }
  if (!serve->parsed()) {
    std::fputs(app.help().c_str(), stdout);
    return 2;
  }

  std::set<std::string> fromFlags = givenFlags(*serve);
  bool root = ::geteuid() == 0;
  auto env = berth::daemon::processEnv();
  bool explicitFile = !cfg.configFile.empty();
  if (!explicitFile) cfg.configFile = berth::daemon::defaultConfigFile(root, env);
  if (!cfg.configFile.empty()) {
    absl::Status s = berth::daemon::applyConfigFile(cfg.configFile, fromFlags, cfg);
    if (absl::IsNotFound(s) && !explicitFile) {
      cfg.configFile.clear();  // the default file is optional
    } else if (!s.ok()) {
      std::fprintf(stderr, "berth: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  absl::Status s = berth::daemon::resolveDefaults(cfg, root, env);
  if (s.ok()) s = berth::daemon::validate(cfg);
  if (!s.ok()) {
    std::fprintf(stderr, "berth: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return berth::daemon::runServe(std::move(cfg), fromFlags);
}
