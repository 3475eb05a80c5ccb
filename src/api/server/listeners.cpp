#include "api/server/listeners.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "util/host_sockets.h"
#include "util/strings.h"
#include "util/log.h"
#include "util/status.h"
#include "util/unique_fd.h"

namespace berth::api::server {
namespace {

constexpr int kSdListenFdsStart = 3;

// True if something accepts connections on the unix socket at `path`.
bool unixSocketAnswers(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

absl::StatusOr<BoundListener> bindUnix(net::io_context& ioc, const ServerOptions& options, const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(strCat("unix socket path ", path, " is longer than ",
                                                   sizeof(sockaddr_un::sun_path) - 1, " bytes"));
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code fsErr;
  std::filesystem::create_directories(parent, fsErr);
  if (fsErr) return absl::InternalError(strCat("create ", parent.string(), ": ", fsErr.message()));

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(strCat(path, " exists and is not a unix socket"));
    }
    if (unixSocketAnswers(path)) {
      return absl::FailedPreconditionError(strCat("unix socket ", path, " is in use by another process"));
    }
    ::unlink(path.c_str());  // stale, left by a daemon that died
  }

  BoundListener l;
  l.address = strCat("unix://", path);
  l.unix = std::make_unique<net::local::stream_protocol::acceptor>(ioc);
  boost::system::error_code ec;
  l.unix->open(net::local::stream_protocol(), ec);
  if (!ec) l.unix->bind(net::local::stream_protocol::endpoint(path), ec);
  if (ec) return absl::FailedPreconditionError(strCat("listen unix ", path, ": ", ec.message()));
  l.socketFile = path;
  if (::chmod(path.c_str(), 0660) != 0) return errnoStatus(errno, strCat("chmod ", path));
  if (!options.socketGroup.empty()) {
    struct group* g = ::getgrnam(options.socketGroup.c_str());
    if (g == nullptr) return absl::InvalidArgumentError(strCat("group ", options.socketGroup, " not found"));
    if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      return errnoStatus(errno, strCat("chown ", path));
    }
  }
  l.unix->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return absl::FailedPreconditionError(strCat("listen unix ", path, ": ", ec.message()));
  return l;
}

absl::StatusOr<BoundListener> bindTcp(net::io_context& ioc, const ServerOptions& options, const ListenAddress& a) {
  std::string text = a.toString();
  bool loopback = isLoopbackHost(a.host);
  if (!options.tls.enabled && !loopback) {
    if (!options.insecureTcp) {
      return absl::FailedPreconditionError(strCat(
          "refusing to listen on ", text,
          " without TLS: anyone who can reach it controls this machine. Use --tlsverify with --tlscacert, "
          "--tlscert and --tlskey, listen on a loopback address, or pass --insecure-tcp"));
    }
    log::warn("listening on plain TCP without TLS: anyone who can reach this address controls the machine",
              {{"address", text}});
  } else if (options.tls.enabled && !options.tls.verify && !loopback) {
    log::warn("TLS without --tlsverify: any client can connect", {{"address", text}});
  }
  boost::system::error_code ec;
  net::ip::address ip = a.host == "localhost" ? net::ip::make_address("127.0.0.1") : net::ip::make_address(a.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(strCat("invalid listen address ", text, ": want an IP address or localhost"));
  }
  BoundListener l;
  l.address = text;
  l.tls = options.tls.enabled;
  l.tcp = std::make_unique<net::ip::tcp::acceptor>(ioc);
  net::ip::tcp::endpoint ep(ip, a.port);
  // On the host's network even when the daemon has a namespace of its own (rootless).
  absl::StatusOr<UniqueFd> fd = hostSocket(ep.protocol().family(), SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  l.tcp->assign(ep.protocol(), fd->release(), ec);
  if (!ec) l.tcp->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) l.tcp->bind(ep, ec);
  if (!ec) l.tcp->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return absl::FailedPreconditionError(strCat("listen tcp ", ep.address().to_string(), ":", a.port, ": ",
                                                            ec == net::error::address_in_use ? "bind: address already in use"
                                                                                             : ec.message()));
  return l;
}

// systemd socket activation: LISTEN_PID names us and LISTEN_FDS counts the
// sockets, which start at fd 3.
absl::StatusOr<std::vector<BoundListener>> adoptActivated(net::io_context& ioc, const ServerOptions& options,
                                                          const ListenAddress& a) {
  const char* pidText = std::getenv("LISTEN_PID");
  const char* countText = std::getenv("LISTEN_FDS");
  int pid = 0;
  int count = 0;
  if (pidText == nullptr || countText == nullptr || !parseInt(pidText, pid) || pid != ::getpid() ||
      !parseInt(countText, count) || count <= 0) {
    return absl::FailedPreconditionError(
        "fd:// needs sockets passed by systemd socket activation (LISTEN_PID/LISTEN_FDS), and none were");
  }
  std::vector<BoundListener> out;
  for (int fd = kSdListenFdsStart; fd < kSdListenFdsStart + count; ++fd) {
    if (a.fd && *a.fd != fd) continue;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      return errnoStatus(errno, strCat("fd://", fd));
    }
    BoundListener l;
    l.address = strCat("fd://", fd);
    boost::system::error_code ec;
    if (ss.ss_family == AF_UNIX) {
      l.unix = std::make_unique<net::local::stream_protocol::acceptor>(ioc);
      l.unix->assign(net::local::stream_protocol(), fd, ec);
    } else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
      l.tcp = std::make_unique<net::ip::tcp::acceptor>(ioc);
      l.tcp->assign(ss.ss_family == AF_INET ? net::ip::tcp::v4() : net::ip::tcp::v6(), fd, ec);
      l.tls = options.tls.enabled;
    } else {
      return absl::InvalidArgumentError(strCat("fd://", fd, " is not a unix or TCP socket"));
    }
    if (ec) return absl::InternalError(strCat("fd://", fd, ": ", ec.message()));
    out.push_back(std::move(l));
  }
  if (out.empty()) return absl::NotFoundError(strCat(a.toString(), " was not passed by socket activation"));
  return out;
}

}  // namespace

BoundListener::~BoundListener() { close(); }

void BoundListener::close() {
  boost::system::error_code ec;
  if (unix) unix->close(ec);
  if (tcp) tcp->close(ec);
  if (!socketFile.empty()) {
    ::unlink(socketFile.c_str());
    socketFile.clear();
  }
}

absl::StatusOr<std::vector<BoundListener>> bindListeners(net::io_context& ioc, const ServerOptions& options) {
  std::vector<BoundListener> out;
  for (const ListenAddress& a : options.listen) {
    switch (a.kind) {
      case ListenAddress::Kind::Unix: {
        BERTH_ASSIGN_OR_RETURN(BoundListener l, bindUnix(ioc, options, a.path));
        out.push_back(std::move(l));
        break;
      }
      case ListenAddress::Kind::Tcp: {
        BERTH_ASSIGN_OR_RETURN(BoundListener l, bindTcp(ioc, options, a));
        out.push_back(std::move(l));
        break;
      }
      case ListenAddress::Kind::Fd: {
        BERTH_ASSIGN_OR_RETURN(std::vector<BoundListener> ls, adoptActivated(ioc, options, a));
        for (auto& l : ls) out.push_back(std::move(l));
        break;
      }
    }
  }
  return out;
}

}  // namespace berth::api::server
