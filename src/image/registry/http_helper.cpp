#include "image/registry/http_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "image/registry/http_wire.h"
#include "util/host_sockets.h"
#include "util/fd_passing.h"
#include "util/log.h"
#include "util/privileges.h"
#include "util/status.h"
#include "util/strings.h"

extern char** environ;

namespace berth::registry {
namespace {

// A request goes to the helper as one byte with its socket and, for an
// upload, the file: fds[0] and fds[1].
absl::Status sendRequestFds(int channel, int sock, int upload) {
  int fds[2] = {sock, upload};
  return wrap(sendWithFds(channel, std::span("r", 1), std::span<const int>(fds, upload >= 0 ? 2 : 1)),
              "handing a request to the HTTP helper");
}

// Debian's nobody and nogroup, which the helper runs as when it starts as root.
constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

// An fd number above the ones the helper is given (3 and 4), so dup2 in
// the child always copies and clears close-on-exec.
absl::StatusOr<UniqueFd> highFd(UniqueFd fd) {
  int high = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10);
  if (high < 0) return errnoStatus(errno, "fcntl");
  return UniqueFd(high);
}

}  // namespace

HttpHelper& HttpHelper::instance() {
  // Never destroyed: its threads may outlive main's return.
  static HttpHelper* helper = new HttpHelper();
  return *helper;
}

void HttpHelper::configure(std::string binary, std::chrono::milliseconds idle) {
  std::lock_guard lock(mu_);
  binary_ = std::move(binary);
  idle_ = idle;
  shuttingDown_ = false;
  if (!reaper_.joinable()) reaper_ = std::thread([this] { reaperLoop(); });
  configured_ = true;
}

void HttpHelper::stop() {
  {
    std::lock_guard lock(mu_);
    shuttingDown_ = true;
    stopLocked();
  }
  cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

pid_t HttpHelper::pid() {
  std::lock_guard lock(mu_);
  return pid_;
}

absl::Status HttpHelper::startLocked() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return errnoStatus(errno, "socketpair");
  UniqueFd near(pair[0]);
  BERTH_ASSIGN_OR_RETURN(UniqueFd far, highFd(UniqueFd(pair[1])));
  UniqueFd socketsFar;
  if (hostSocketsFromParent()) {
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return errnoStatus(errno, "socketpair");
    auto served = std::make_shared<UniqueFd>(pair[0]);
    BERTH_ASSIGN_OR_RETURN(socketsFar, highFd(UniqueFd(pair[1])));
    // Ends when the helper closes its end (it exited).
    std::thread([served] {
      while (serveHostSocketRequest(served->get(), SocketSource::kRelayToParent)) {
      }
    }).detach();
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, far.get(), 3);
  if (socketsFar.valid()) posix_spawn_file_actions_adddup2(&fa, socketsFar.get(), 4);
  std::string name = "berth", mode = "__http-helper", sockets = socketsFar.valid() ? "4" : "-1";
  std::vector<char*> argv = {name.data(), mode.data(), sockets.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, binary_.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return errnoStatus(rc, strCat("starting the HTTP helper (", binary_, ")"));
  pid_ = pid;
  control_ = std::move(near);
  log::debug("HTTP helper started", {{"pid", strCat(pid)}});
  return absl::OkStatus();
}

void HttpHelper::stopLocked() {
  if (pid_ == 0) return;
  control_.reset();  // the helper sees the end of its control socket and exits
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) != 0) {
      pid_ = 0;
      return;
    }
    ::usleep(10'000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

void HttpHelper::reaperLoop() {
  std::unique_lock lock(mu_);
  while (!shuttingDown_) {
    if (pid_ != 0 && active_ == 0) {
      auto expiry = lastUse_ + idle_;
      if (std::chrono::steady_clock::now() >= expiry) {
        stopLocked();
        log::debug("HTTP helper stopped after being idle");
        continue;
      }
      cv_.wait_until(lock, expiry);
    } else {
      cv_.wait(lock);
    }
  }
}

absl::Status HttpHelper::dispatch(UniqueFd far, int upload) {
  std::lock_guard lock(mu_);
  absl::Status st;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (pid_ == 0) BERTH_RETURN_IF_ERROR(startLocked());
    st = sendRequestFds(control_.get(), far.get(), upload);
    if (st.ok()) return st;
    stopLocked();  // it died: reap it and start another
  }
  return absl::UnavailableError(strCat("the HTTP helper is not answering: ", st.message()));
}

absl::StatusOr<HttpResponse> HttpHelper::perform(const HttpRequest& req, const std::string& userAgent,
                                                 const BodySink* sink, size_t bodyLimit,
                                                 const std::atomic<bool>* cancel) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return errnoStatus(errno, "socketpair");
  UniqueFd near(pair[0]), far(pair[1]);
  {
    std::lock_guard lock(mu_);
    ++active_;
  }
  struct Done {
    HttpHelper* h;
    ~Done() {
      {
        std::lock_guard lock(h->mu_);
        --h->active_;
        h->lastUse_ = std::chrono::steady_clock::now();
      }
      h->cv_.notify_all();
    }
  } done{this};

  BERTH_RETURN_IF_ERROR(dispatch(std::move(far), req.uploadFd));
  wire::Request w;
  w.http = req;
  w.http.uploadFd = -1;
  w.userAgent = userAgent;
  w.hasUpload = req.uploadFd >= 0;
  w.stream = sink != nullptr;
  w.bodyLimit = bodyLimit;
  BERTH_RETURN_IF_ERROR(wire::writeFrame(near.get(), wire::kRequest, wire::encodeRequest(w)));

  auto waitReadable = [&]() -> absl::Status {
    for (;;) {
      if (cancel != nullptr && cancel->load()) {
        return absl::CancelledError(strCat(requestErrorPrefix(req), "context canceled"));
      }
      pollfd p{near.get(), POLLIN, 0};
      int n = ::poll(&p, 1, 200);
      if (n > 0) return absl::OkStatus();
      if (n < 0 && errno != EINTR) return errnoStatus(errno, "poll");
    }
  };
  std::string payload;
  for (;;) {
    char type = 0;
    BERTH_RETURN_IF_ERROR(wire::readFrame(near.get(), type, payload, waitReadable));
    switch (type) {
      case wire::kData: {
        BERTH_ASSIGN_OR_RETURN(auto piece, wire::decodeData(payload));
        if (sink == nullptr) return absl::InternalError("the HTTP helper streamed a body nobody asked for");
        // An error stops the transfer: closing `near` makes the helper's next write fail.
        BERTH_RETURN_IF_ERROR((*sink)(piece.first, piece.second));
        break;
      }
      case wire::kResponse:
        return wire::decodeResponse(payload);
      case wire::kError:
        return wire::decodeError(payload);
      default:
        return absl::InternalError("the HTTP helper sent an unknown frame");
    }
  }
}

int httpHelperMain(int control, int hostSockets) {
  ::prctl(PR_SET_NAME, "berth-http");  // not "exe", as /proc/self/exe would name it
  if (hostSockets >= 0) useHostSocketChannel(UniqueFd(hostSockets));
  // It handles registries' bytes and needs no privilege: sockets come from
  // connect() (or the host side), uploads and certificates from the daemon.
  if (absl::Status st = dropAllPrivileges(kNobody, kNogroup); !st.ok()) {
    log::warn("the HTTP helper keeps privileges", {{"error", std::string(st.message())}});
  }
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  std::map<std::string, std::unique_ptr<HttpClient>> clients;  // by user agent, guarded by mu

  auto serve = [&](UniqueFd sock, UniqueFd upload) {
    char type = 0;
    std::string payload;
    absl::Status st = wire::readFrame(sock.get(), type, payload);
    if (st.ok() && type != wire::kRequest) st = absl::InvalidArgumentError("expected a request frame");
    absl::StatusOr<wire::Request> req = st.ok() ? wire::decodeRequest(payload) : absl::StatusOr<wire::Request>(st);
    if (!req.ok()) {
      (void)wire::writeFrame(sock.get(), wire::kError, wire::encodeError(req.status()));
      return;
    }
    if (req->hasUpload) req->http.uploadFd = upload.get();
    HttpClient* client = nullptr;
    {
      std::lock_guard lock(mu);
      std::unique_ptr<HttpClient>& c = clients[req->userAgent];
      if (c == nullptr) {
        absl::StatusOr<std::unique_ptr<HttpClient>> made = HttpClient::create(req->userAgent, HttpClient::Where::kInProcess);
        if (!made.ok()) {
          clients.erase(req->userAgent);
          (void)wire::writeFrame(sock.get(), wire::kError, wire::encodeError(made.status()));
          return;
        }
        c = std::move(*made);
      }
      client = c.get();
    }
    BodySink sink = [&](long status, std::string_view data) -> absl::Status {
      return wire::writeFrame(sock.get(), wire::kData, wire::encodeData(status, data));
    };
    absl::StatusOr<HttpResponse> resp =
        client->perform(req->http, req->stream ? &sink : nullptr, size_t(req->bodyLimit), nullptr);
    if (resp.ok()) {
      (void)wire::writeFrame(sock.get(), wire::kResponse, wire::encodeResponse(*resp));
    } else {
      (void)wire::writeFrame(sock.get(), wire::kError, wire::encodeError(resp.status()));
    }
  };

  char byte;
  std::vector<UniqueFd> fds;
  for (;;) {
    absl::StatusOr<size_t> n = receiveWithFds(control, std::span(&byte, 1), fds);
    if (!n.ok() || *n == 0) break;  // the daemon closed the control socket
    if (fds.empty()) continue;
    UniqueFd sock = std::move(fds[0]);
    UniqueFd upload = fds.size() > 1 ? std::move(fds[1]) : UniqueFd();
    std::lock_guard lock(mu);
    ++running;
    std::thread([&, sock = std::move(sock), upload = std::move(upload)]() mutable {
      serve(std::move(sock), std::move(upload));
      std::lock_guard lock(mu);
      --running;
      cv.notify_all();
    }).detach();
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return running == 0; });
  return 0;
}

}  // namespace berth::registry
