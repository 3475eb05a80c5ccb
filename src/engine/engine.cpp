#include "engine/engine.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <filesystem>

#include "engine/event_filter.h"
#include "nlohmann/json.hpp"
#include "image/reference.h"
#include "image/registry/registry_client.h"
#include "runtime/kube/helper_image.h"
#include "runtime/kube/kube_config.h"
#include "runtime/local/local_runtime.h"
#include "util/unique_fd.h"
#include "util/digest.h"
#include "util/log.h"
#include "util/random_id.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::engine {
namespace {

using api::types::Event;

int64_t countOpenFds() {
  int64_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    --n;  // the directory stream's own fd
  }
  return n;
}

int64_t countThreads() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("Threads:")) {
      int64_t n = 0;
      if (parseInt(trim(std::string_view(line).substr(8)), n)) return n;
    }
  }
  return 0;
}

// Publishes the in-pod helper (the binary beside this one) under
// options.helperImage and returns the reference pods pull it by: its digest,
// so every pod runs exactly this helper whatever the tag later names.
absl::StatusOr<std::string> publishHelper(const std::string& helperImage, const std::string& helperBinary,
                                          const EngineOptions& options, const std::string& arch) {
  BERTH_ASSIGN_OR_RETURN(image::Reference ref, image::parseNormalized(helperImage));
  if (!ref.digest.empty()) return ref.canonical();  // pinned by the user: theirs to publish
  ref = image::withDefaultTag(std::move(ref));
  std::string binary = readFileOrEmpty(helperBinary);
  if (binary.empty()) {
    return absl::FailedPreconditionError(strCat("the kube backend's helper ", helperBinary, " is missing or empty"));
  }
  runtime::kube::HelperImage img = runtime::kube::buildHelperImage(binary, arch, options.version);
  BERTH_ASSIGN_OR_RETURN(auto client, registry::RegistryClient::create(
                                          {options.insecureRegistries, strCat("berth/", options.version)}));
  auto repo = client->repository(ref.domain, ref.path, {}, /*push=*/true);
  std::string digest = img.manifestDigest;
  if (absl::Status s = runtime::kube::publishHelperImage(*repo, ref.tag, img); !s.ok()) {
    // A registry Berth may only read: use what an administrator published there.
    absl::StatusOr<registry::FetchedManifest> there = repo->getManifest(ref.tag);
    if (!there.ok()) {
      return absl::Status(s.code(), strCat("publishing the kube helper image to ", ref.canonical(), ": ", s.message()));
    }
    log::warn("could not publish the kube helper image; using the one in the registry",
              {{"image", ref.canonical()}, {"error", std::string(s.message())}});
    digest = there->digest;
  }
  ref.tag.clear();
  ref.digest = digest;
  return ref.canonical();
}

}  // namespace

Engine::Engine(EngineOptions options, store::StateStore& store, std::string id)
    : options_(std::move(options)), store_(store), id_(std::move(id)), host_(readHostInfo()) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::create(EngineOptions options, store::StateStore& store) {
  BERTH_ASSIGN_OR_RETURN(std::string id, store.getOrInitMeta("daemon-id", newUuid()));
  std::unique_ptr<Engine> engine(new Engine(std::move(options), store, std::move(id)));
  ImageServiceOptions io;
  io.dataRoot = engine->options_.dataRoot;
  io.insecureRegistries = engine->options_.insecureRegistries;
  io.userAgent = strCat("berth/", engine->options_.version);
  io.maxConcurrentDownloads = engine->options_.maxConcurrentDownloads;
  io.rootless = engine->options_.rootless;
  io.maxLayerBytes = engine->options_.maxLayerBytes;
  io.metadataOnly = engine->options_.kube.has_value();
  BERTH_ASSIGN_OR_RETURN(engine->images_, ImageService::create(std::move(io), store, engine->events_));
  engine->volumes_ = std::make_unique<VolumeService>(store, engine->events_, engine->options_.dataRoot);
  // The runtime's helpers sit next to this binary.
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string binDir = self.substr(0, self.rfind('/'));
  runtime::local::LocalRuntimeOptions ro;
  ro.containersDir = engine->options_.dataRoot + "/containers";
  SpecContext sc;
  sc.rootless = engine->options_.rootless;
  sc.containersDir = ro.containersDir;
  if (engine->options_.kube) {
    BERTH_ASSIGN_OR_RETURN(engine->runtime_, engine->kubeRuntime(binDir + "/berth-kubehelper"));
  } else {
    ro.berthBinary = self;
    ro.monitorBinary = binDir + "/berth-monitor";
    ro.rootless = engine->options_.rootless;
    if (::access(ro.monitorBinary.c_str(), X_OK) != 0) {
      // Images and records still work; starting a container will say why not.
      log::warn("berth-monitor not found next to berth: containers cannot start", {{"path", ro.monitorBinary}});
    }
    engine->runtime_ = std::make_unique<runtime::local::LocalRuntime>(std::move(ro));
  }
  engine->scheduler_ = std::make_unique<Scheduler>();
  // The daemon on the default data root owns berth0; any other (a test's,
  // a second daemon's) gets names of its own.
  NetworkOptions no{engine->options_.dataRoot, engine->options_.rootless, "", engine->options_.hostGatewayIp};
  if (no.dataRoot != "/var/lib/berth") no.instanceTag = sha256Digest(no.dataRoot).substr(7, 6);
  engine->networks_ = std::make_unique<NetworkService>(store, engine->events_, std::move(no));
  BERTH_RETURN_IF_ERROR(engine->networks_->load());
  engine->containers_ = std::make_unique<ContainerService>(store, *engine->images_, *engine->volumes_,
                                                           *engine->networks_, engine->events_, "overlayfs",
                                                           *engine->runtime_, *engine->scheduler_, std::move(sc));
  ContainerService* containers = engine->containers_.get();
  engine->networks_->setContainerNetworking(containers);
  engine->images_->setImageUses([containers] { return containers->imageUses(); });
  engine->volumes_->setVolumeUses([containers] { return containers->volumeUses(); });
  engine->volumes_->setRuntime(engine->runtime_.get());
  // --prune-start removed every Berth pod of the namespace: this daemon's records of them go too.
  if (engine->options_.kube && engine->options_.kube->runtime.pruneStart) {
    containers->forgetAll();
    engine->volumes_->forgetStored();
  }
  containers->reconcile();
  engine->networks_->removeUnusedBridges();
  return engine;
}

absl::StatusOr<std::unique_ptr<runtime::Runtime>> Engine::kubeRuntime(const std::string& helperBinary) {
  runtime::kube::KubeBackendOptions k = *options_.kube;
  BERTH_ASSIGN_OR_RETURN(runtime::kube::KubeConfig config, runtime::kube::loadKubeConfig(k.kubeconfig, k.context));
  if (!k.nameSpace.empty()) config.nameSpace = k.nameSpace;
  std::string server = config.server, nameSpace = config.nameSpace;
  BERTH_ASSIGN_OR_RETURN(auto client, runtime::kube::KubeClient::create(std::move(config), strCat("berth/", options_.version)));
  BERTH_ASSIGN_OR_RETURN(k.runtime.pod.helperImage,
                         publishHelper(k.runtime.pod.helperImage, helperBinary, options_, goArch(host_.machine)));
  k.runtime.pod.instance = id_;
  // Its reaper removes this daemon's own containers through the engine (so
  // their records go too); containers_ exists before its first round.
  if (k.runtime.reapMaxSeconds > 0) {
    k.runtime.reapOwn = [this, max = std::chrono::seconds(k.runtime.reapMaxSeconds)] {
      containers_->reapOlderThan(max);
      volumes_->reapStoredOlderThan(max);
    };
  }
  BERTH_ASSIGN_OR_RETURN(auto rt, runtime::kube::KubeRuntime::create(std::move(client), std::move(k.runtime)));
  log::info("kube backend ready", {{"server", server}, {"namespace", nameSpace}, {"helper", rt->helperImage()}});
  return std::unique_ptr<runtime::Runtime>(std::move(rt));
}

Engine::~Engine() {
  if (containers_) containers_->shutdown();
  // The timers and the exit watcher call into the services: stop them first.
  scheduler_.reset();
  // Relays of pods' ports dial through the runtime.
  if (networks_) networks_->closePublishedPorts();
  // Pods end with the daemon (kubedock's behaviour; a crash leaves them to
  // the next start or to another instance's reaper).
  if (runtime_ && !runtime_->onThisMachine() && containers_) {
    containers_->forgetAll();
    runtime_->removeEverything();
    // Then the volumes it keeps (a claim still mounted goes when its pod has).
    if (volumes_) volumes_->forgetStored();
  }
  runtime_.reset();
  // Bridges without containers and the firewall table go with the daemon.
  if (networks_) networks_->shutdown();
}

void Engine::reload(const ReloadableSettings& settings) {
  Event e;
  {
    std::lock_guard lock(mu_);
    options_.labels = settings.labels;
    options_.debug = settings.debug;
  }
  e.type = "daemon";
  e.action = "reload";
  e.actorId = id_;
  e.attributes = {
      {"name", host_.hostname},
      {"labels", nlohmann::json(settings.labels).dump()},
      {"debug", settings.debug ? "true" : "false"},
      {"log-level", settings.logLevel},
  };
  events_.publish(std::move(e));
}

api::types::SystemVersion Engine::version() {
  api::types::SystemVersion v;
  v.platformName = "Berth Engine";
  v.version = options_.version;
  v.apiVersion = "1.51";
  v.minApiVersion = "1.24";
  v.gitCommit = options_.gitCommit;
  v.compiler = options_.compiler;
  v.os = "linux";
  v.arch = goArch(host_.machine);
  v.kernelVersion = host_.kernelVersion;
  v.buildTime = options_.buildTime;
  return v;
}

absl::StatusOr<api::types::SystemInfo> Engine::info() {
  BERTH_ASSIGN_OR_RETURN(store::ObjectCounts counts, store_.counts());
  api::types::SystemInfo i;
  i.id = id_;
  i.containers = counts.containers;
  i.containersRunning = counts.containersRunning;
  i.containersPaused = counts.containersPaused;
  i.containersStopped = counts.containersStopped;
  i.images = counts.images;
  i.driver = "overlayfs";
  i.driverStatus = {{"driver-type", "berth snapshotter"}};
  i.dockerRootDir = options_.dataRoot;
  i.nfd = countOpenFds();
  i.nThreads = countThreads();
  i.systemTime = formatRfc3339Nano(nowSystem());
  i.loggingDriver = "json-file";
  i.cgroupDriver = "cgroupfs";
  i.cgroupVersion = host_.cgroupVersion;
  i.nEventsListener = static_cast<int64_t>(events_.subscriberCount());
  i.kernelVersion = host_.kernelVersion;
  i.operatingSystem = host_.operatingSystem;
  i.osVersion = host_.osVersion;
  i.osType = "linux";
  i.architecture = host_.machine;
  i.ncpu = host_.ncpu;
  i.memTotal = host_.memTotal;
  i.indexServerAddress = "https://index.docker.io/v1/";
  i.insecureRegistryCidrs = {"::1/128", "127.0.0.0/8"};
  for (const char* var : {"HTTP_PROXY", "http_proxy"}) {
    if (const char* v = getenv(var); v && i.httpProxy.empty()) i.httpProxy = v;
  }
  for (const char* var : {"HTTPS_PROXY", "https_proxy"}) {
    if (const char* v = getenv(var); v && i.httpsProxy.empty()) i.httpsProxy = v;
  }
  for (const char* var : {"NO_PROXY", "no_proxy"}) {
    if (const char* v = getenv(var); v && i.noProxy.empty()) i.noProxy = v;
  }
  i.name = host_.hostname;
  i.serverVersion = options_.version;
  i.defaultRuntime = "berth";
  if (host_.seccomp) i.securityOptions.push_back("name=seccomp,profile=builtin");
  if (options_.rootless) i.securityOptions.push_back("name=rootless");
  if (host_.cgroupVersion == "2") i.securityOptions.push_back("name=cgroupns");
  i.memoryLimit = host_.memoryController;
  i.swapLimit = host_.swapAccounting;
  i.cpuCfsPeriod = i.cpuCfsQuota = i.cpuShares = host_.cpuController;
  i.cpuSet = host_.cpusetController;
  i.pidsLimit = host_.pidsController;
  i.ipv4Forwarding = host_.ipv4Forwarding;
  {
    std::lock_guard lock(mu_);
    i.labels = options_.labels;
    i.debug = options_.debug;
    i.warnings = options_.warnings;
  }
  return i;
}

absl::StatusOr<api::types::DiskUsage> Engine::diskUsage(const api::backend::DiskUsageQuery& query) {
  api::types::DiskUsage d;
  if (!query.types.empty()) {
    d.withImages = d.withContainers = d.withVolumes = d.withBuildCache = false;
    for (const std::string& t : query.types) {
      if (t == "image") {
        d.withImages = true;
      } else if (t == "container") {
        d.withContainers = true;
      } else if (t == "volume") {
        d.withVolumes = true;
      } else if (t == "build-cache") {
        d.withBuildCache = true;
      } else {
        return absl::InvalidArgumentError(strCat("unknown object type: ", t));
      }
    }
  }
  BERTH_ASSIGN_OR_RETURN(store::StateStore::UsageRows rows, store_.usageRows());
  d.layersSize = rows.layersSize;
  if (d.withImages) {
    BERTH_ASSIGN_OR_RETURN(std::vector<api::types::ImageSummary> images, images_->diskUsage());
    for (const api::types::ImageSummary& s : images) d.images.push_back(api::types::toJson(s));
  }
  if (d.withContainers) {
    api::backend::ContainerListOptions all;
    all.all = true;
    all.size = true;
    BERTH_ASSIGN_OR_RETURN(std::vector<nlohmann::ordered_json> containers, containers_->listContainers(all));
    for (nlohmann::ordered_json& c : containers) d.containers.push_back(std::move(c));
  }
  if (d.withVolumes) {
    BERTH_ASSIGN_OR_RETURN(std::vector<nlohmann::ordered_json> volumes, volumes_->usage());
    for (nlohmann::ordered_json& v : volumes) d.volumes.push_back(std::move(v));
  }
  return d;
}

absl::StatusOr<api::backend::EventStream> Engine::events(const api::backend::EventQuery& query,
                                                         api::backend::EventSink sink) {
  BERTH_RETURN_IF_ERROR(validateEventFilters(query.filters));
  bool live = !query.until || *query.until > nowSystem();
  auto [past, sub] = events_.snapshotAndSubscribe(query.since, query.until, query.filters, live, std::move(sink));
  api::backend::EventStream out;
  out.past = std::move(past);
  if (sub) {
    // Adapts the bus's subscription to the backend interface.
    struct Live final : api::backend::EventSubscription {
      std::unique_ptr<EventBus::Subscription> sub;
    };
    auto l = std::make_unique<Live>();
    l->sub = std::move(sub);
    out.live = std::move(l);
  }
  return out;
}

}  // namespace berth::engine
