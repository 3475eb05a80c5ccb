#include "daemon/daemon.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include <boost/asio/signal_set.hpp>

#include "api/routes/containers/container_routes.h"
#include "api/routes/images/image_routes.h"
#include "api/routes/volumes/volume_routes.h"
#include "api/routes/networks/network_routes.h"
#include "api/routes/system/system_routes.h"
#include "api/routes/unsupported/unimplemented_routes.h"
#include "api/server/server.h"
#include "daemon/build_info.h"
#include "daemon/data_root_lock.h"
#include "daemon/rootless_namespaces.h"
#include "engine/engine.h"
#include "image/registry/http_helper.h"
#include "store/state_store.h"
#include "util/host_info.h"
#include "util/host_sockets.h"
#include "util/log.h"
#include "util/strings.h"

namespace berth::daemon {
namespace {

// How long the HTTP helper stays after its last request: long enough for a
// pull's retries and a push's next blob, short enough that an idle daemon's
// footprint is its own.
constexpr std::chrono::seconds kHttpHelperIdle{5};

int fail(const absl::Status& s) {
  log::error("berth cannot start", {{"error", std::string(s.message())}});
  std::fprintf(stderr, "berth: %s\n", std::string(s.message()).c_str());
  return 1;
}

void applyLogging(const DaemonConfig& cfg) {
  if (auto l = log::parseLevel(cfg.logLevel); l.ok()) log::setLevel(*l);
  if (auto f = log::parseFormat(cfg.logFormat); f.ok()) log::setFormat(*f);
}

// SIGHUP: re-read the config file and apply what can change while running.
void reload(const DaemonConfig& current, const std::set<std::string>& fromFlags, engine::Engine& engine) {
  DaemonConfig next = current;
  if (!current.configFile.empty()) {
    absl::Status s = applyConfigFile(current.configFile, fromFlags, next);
    if (!s.ok() && !absl::IsNotFound(s)) {
      log::error("reload failed; keeping the running configuration", {{"error", std::string(s.message())}});
      return;
    }
  }
  if (next.debug) next.logLevel = "debug";
  if (absl::Status s = validate(next); !s.ok()) {
    log::error("reload failed; keeping the running configuration", {{"error", std::string(s.message())}});
    return;
  }
  applyLogging(next);
  engine.reload({next.labels, next.debug, next.logLevel});
  log::info("configuration reloaded", {{"labels", join(next.labels, ",")}, {"log-level", next.logLevel}});
}


// Everything after the data root is locked (and, rootless, the namespaces entered).
int serve(DaemonConfig& cfg, const std::set<std::string>& fromFlags, bool rootless, const std::string& hostGatewayIp) {
  auto store = store::StateStore::open(cfg.dataRoot + "/state.db");
  if (!store.ok()) return fail(store.status());

  api::server::ServerOptions options;
  options.tls = {cfg.tls || cfg.tlsVerify, cfg.tlsVerify, cfg.tlsCaCert, cfg.tlsCert, cfg.tlsKey};
  options.insecureTcp = cfg.insecureTcp;
  options.socketGroup = cfg.group;
  options.readTimeout = std::chrono::seconds(cfg.requestReadTimeout);
  options.shutdownTimeout = std::chrono::seconds(cfg.shutdownTimeout);
  options.serverVersion = build::kVersion;
  std::vector<std::string> warnings;
  for (const std::string& h : cfg.hosts) {
    auto a = api::server::parseListenAddress(h, options.tls.enabled);
    if (!a.ok()) return fail(a.status());
    if (a->kind == api::server::ListenAddress::Kind::Tcp && !options.tls.enabled &&
        !api::server::isLoopbackHost(a->host)) {
      warnings.push_back(strCat("WARNING: API is accessible on ", a->toString(),
                                      " without encryption. Anyone who can reach it controls this machine."));
    }
    options.listen.push_back(*a);
  }

  engine::EngineOptions engineOptions;
  engineOptions.dataRoot = cfg.dataRoot;
  engineOptions.version = build::kVersion;
  engineOptions.gitCommit = build::kGitCommit;
  engineOptions.buildTime = build::kBuildTime;
  engineOptions.compiler = strCat("g++ ", __VERSION__);
  engineOptions.labels = cfg.labels;
  engineOptions.debug = cfg.debug;
  engineOptions.warnings = warnings;
  engineOptions.insecureRegistries = cfg.insecureRegistries;
  engineOptions.maxConcurrentDownloads = cfg.maxConcurrentDownloads;
  engineOptions.rootless = rootless;
  engineOptions.hostGatewayIp = hostGatewayIp;
  engineOptions.maxLayerBytes = cfg.maxLayerBytes;
  if (cfg.backend == "kube") {
    auto kube = kubeSettings(cfg, processEnvironment());
    if (!kube.ok()) return fail(kube.status());
    engineOptions.kube = std::move(*kube);
  }
  // Registry transfers run in a helper process that stops when idle, so
  // libcurl and its dependencies never stay mapped in the daemon.
  registry::HttpHelper::instance().configure("/proc/self/exe", kHttpHelperIdle);
  auto engine = engine::Engine::create(engineOptions, **store);
  if (!engine.ok()) return fail(engine.status());

  api::server::Router router;
  router.add(api::routes::systemRoutes(**engine));
  router.add(api::routes::imageRoutes((*engine)->images()));
  router.add(api::routes::containerRoutes((*engine)->containers()));
  router.add(api::routes::volumeRoutes((*engine)->volumes()));
  router.add(api::routes::networkRoutes((*engine)->networks()));
  router.add(api::routes::swarmRoutes());
  router.add(api::routes::unimplementedRoutes());

  auto server = api::server::Server::create(std::move(options), std::move(router));
  if (!server.ok()) return fail(server.status());

  // Optional so it can be destroyed before the io_context it uses.
  std::optional<boost::asio::signal_set> signals(std::in_place, (*server)->ioContext(), SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> onSignal = [&](const boost::system::error_code& ec,
                                                                            int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload(cfg, fromFlags, **engine);
      signals->async_wait(onSignal);
      return;
    }
    log::info("signal received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    // Pulls and pushes stop at their next chunk, so the requests streaming
    // their progress end (with an error line) instead of holding up the drain.
    (*engine)->images().cancelJobs();
    (*server)->shutdown();
  };
  signals->async_wait(onSignal);
  log::info("berth is ready", {{"version", build::kVersion}, {"data-root", cfg.dataRoot},
                               {"listen", join((*server)->addresses(), ",")}, {"id", (*engine)->id()}});

  (*server)->run();

  signals.reset();
  server->reset();  // joins the blocking pool and removes socket files
  engine->reset();
  registry::HttpHelper::instance().stop();
  if (absl::Status s = (*store)->close(); !s.ok()) {
    log::error("closing the state database", {{"error", std::string(s.message())}});
    return 1;
  }
  log::info("shutdown complete");
  return 0;
}

}  // namespace

int runServe(DaemonConfig cfg, const std::set<std::string>& fromFlags) {
  applyLogging(cfg);
  std::error_code fsErr;
  std::filesystem::create_directories(cfg.dataRoot, fsErr);
  if (fsErr) return fail(absl::InternalError(strCat("create data root ", cfg.dataRoot, ": ", fsErr.message())));
  ::chmod(cfg.dataRoot.c_str(), 0711);

  auto lock = DataRootLock::acquire(cfg.dataRoot);
  if (!lock.ok()) return fail(lock.status());

  // A normal user's daemon goes into namespaces of its own, where it is root
  // (the process the user started stays outside as its host-side helper).
  std::string rootlessState = cfg.dataRoot + "/rootless";
  std::string hostGatewayIp = cfg.hostGatewayIp;
  if (::geteuid() != 0) {
    // Read while still in the host's network namespace.
    if (hostGatewayIp.empty()) hostGatewayIp = defaultRouteIpv4(readFileOrEmpty("/proc/net/route"));
    if (absl::Status s = enterRootlessNamespaces(rootlessState); !s.ok()) return fail(s);
  }
  bool rootless = !inInitialUserNamespace();
  int rc = serve(cfg, fromFlags, rootless, hostGatewayIp);
  // Also after a failed start: no holder or slirp4netns stays for nothing.
  if (hostSocketsFromParent()) releaseRootlessNamespacesIfIdle(rootlessState);
  return rc;
}


}  // namespace berth::daemon
