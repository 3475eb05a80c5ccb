#include "runtime/kube/pod_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "runtime/kube/stdin_frames.h"
#include "runtime/log_record.h"
#include "runtime/monitor_protocol.h"
#include "util/strings.h"

namespace berth::runtime::kube {
namespace {

namespace proto = runtime::monitor;

bool readFrame(int fd, uint8_t& type, std::string& payload) {
  unsigned char h[proto::kHeaderSize];
  if (!proto::readExact(fd, h, sizeof h)) return false;
  uint32_t len = proto::decodeLength(h);
  if (len > proto::kMaxFrame) return false;
  type = h[0];
  payload.resize(len);
  return proto::readExact(fd, payload.data(), len);
}

// How long the log may lag behind an exit the cluster reported before the
// follow is cut (it normally ends by itself well before: it polls every 50 ms,
// but its exec stream can start late on a busy node).
constexpr auto kLogSettle = std::chrono::seconds(5);
// How long an attach whose log ended waits for the cluster to report the exit.
constexpr auto kExitReportWait = std::chrono::seconds(10);

}  // namespace

absl::Status takeLogRecords(std::string& buffer, const std::function<void(const LogEntry&)>& sink, bool* caughtUp) {
  bool torn = false;
  auto at = [&buffer](size_t off) { return buffer.data() + off; };
  size_t end = logfmt::walkRecords(buffer.size(), 0, at, [&](const logfmt::RecordHeader& h, size_t off) {
    if (h.stream == logfmt::kMarkerStream) {
      if (caughtUp != nullptr) *caughtUp = true;
      return;
    }
    LogEntry e;
    e.stream = h.stream;
    e.timeNanos = h.timeNanos;
    e.partial = h.partial != 0;
    e.data = std::string_view(buffer).substr(off + sizeof h, h.length);
    sink(e);
  }, &torn);
  buffer.erase(0, end);
  if (torn) return absl::DataLossError("the container's log is damaged");
  return absl::OkStatus();
}

void SessionTracker::add() {
  std::lock_guard lock(mu_);
  ++live_;
}

void SessionTracker::done() {
  std::lock_guard lock(mu_);
  if (--live_ == 0) cv_.notify_all();
}

void SessionTracker::waitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return live_ == 0; });
}

absl::StatusOr<std::string> PodSession::readHello(int fd) {
  uint8_t type = 0;
  std::string payload;
  if (!readFrame(fd, type, payload) || type != proto::kHello) {
    return absl::InternalError("an attach connection did not start with its hello");
  }
  return payload;
}

PodSession::PodSession(Parts parts, SessionTracker& tracker, OnEnd onEnd)
    : parts_(std::move(parts)), tracker_(tracker), onEnd_(std::move(onEnd)) {}

std::shared_ptr<PodSession> PodSession::start(Parts parts, SessionTracker& tracker, OnEnd onEnd) {
  std::shared_ptr<PodSession> s(new PodSession(std::move(parts), tracker, std::move(onEnd)));
  // Each thread holds the session; the tracker hears of its end last.
  auto spawn = [&](void (*body)(PodSession&)) {
    tracker.add();
    std::thread([s, body]() mutable {
      body(*s);
      SessionTracker& t = s->tracker_;
      s.reset();
      t.done();
    }).detach();
  };
  spawn([](PodSession& self) { self.outputLoop(); });
  if (s->parts_.connection.valid()) spawn([](PodSession& self) { self.inputLoop(); });
  if (s->parts_.input) spawn([](PodSession& self) { (void)self.parts_.input->run([](int, std::string_view) {}); });
  return s;
}

void PodSession::sendFrame(uint8_t type, std::string_view data) {
  if (!parts_.connection.valid() || connectionBroken_) return;
  std::string f = proto::frame(type, data);
  std::string_view rest = f;
  while (!rest.empty()) {
    ssize_t n = ::send(parts_.connection.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      connectionBroken_ = true;  // the client left; the process's end is still awaited
      return;
    }
    rest.remove_prefix(size_t(n));
  }
}

void PodSession::forward(int channel, std::string_view data) {
  auto wanted = [this](uint8_t stream) { return parts_.streams.find(stream == 1 ? 'o' : 'e') != std::string::npos; };
  if (parts_.kind == Kind::kExec) {
    uint8_t stream = channel == 1 || parts_.tty ? 1 : 2;
    if (wanted(stream)) sendFrame(stream == 1 ? proto::kStdout : proto::kStderr, data);
    return;
  }
  if (channel == 2) {  // the helper's "exited N" at the log's end
    for (std::string_view line : split(data, '\n')) {
      int code = 0;
      if (line.starts_with("exited ") && parseInt(line.substr(7), code)) {
        std::lock_guard lock(mu_);
        exitCode_ = code;
      }
    }
    return;
  }
  logBuffer_.append(data);
  bool caughtUp = false;
  (void)takeLogRecords(logBuffer_, [&](const LogEntry& e) {
    if (wanted(e.stream)) sendFrame(e.stream == 1 ? proto::kStdout : proto::kStderr, e.data);
  }, &caughtUp);
  if (caughtUp) {
    {
      std::lock_guard lock(mu_);
      caughtUp_ = true;
    }
    cv_.notify_all();
  }
}

void PodSession::outputLoop() {
  absl::StatusOr<int> rc = parts_.output->run([this](int channel, std::string_view data) { forward(channel, data); });
  std::optional<int> code;
  if (parts_.kind == Kind::kExec) {
    code = onEnd_(rc);
  } else {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kExitReportWait, [this] { return exitCode_.has_value() || cancelled_; });
    code = exitCode_;
  }
  if (code && !cancelled_) sendFrame(proto::kExit, strCat(*code));
  if (parts_.connection.valid()) ::shutdown(parts_.connection.get(), SHUT_RDWR);  // ends inputLoop
  // The process ended: stdin has nowhere to go. (A client that left ends
  // its attach stream itself, gracefully, so that StdinOnce applies.)
  if (parts_.input && !cancelled_) parts_.input->cancel();
  {
    std::lock_guard lock(mu_);
    ended_ = true;
  }
  cv_.notify_all();
}

bool PodSession::waitEnded(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return ended_; });
}

bool PodSession::waitCaughtUp(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return caughtUp_ || ended_; });
}

void PodSession::inputLoop() {
  int fd = parts_.connection.get();
  bool stdinOpen = parts_.streams.find('i') != std::string::npos &&
                   (parts_.kind == Kind::kExec ? parts_.framedStdin || parts_.tty : parts_.input != nullptr);
  auto endStdin = [&] {
    if (!stdinOpen) return;
    stdinOpen = false;
    if (parts_.kind == Kind::kAttach) {
      parts_.input->finish();
    } else if (parts_.framedStdin) {
      parts_.output->write(stdinFrame(""));
    }  // a terminal's input has no end but the one its user types
  };
  uint8_t type = 0;
  std::string payload;
  while (readFrame(fd, type, payload)) {
    if (type == proto::kStdin && stdinOpen) {
      inputStream().write(parts_.framedStdin ? stdinFrame(payload) : payload);
    } else if (type == proto::kCloseStdin) {
      endStdin();
    } else if (type == proto::kResize) {
      auto [rows, cols] = splitOnce(payload, ' ');
      unsigned r = 0, c = 0;
      if (parseInt(rows, r) && parseInt(cols, c)) (void)resize(r, c);
    }
  }
  // The client left, or the session ended.
  endStdin();
  bool exited;
  {
    std::lock_guard lock(mu_);
    exited = exitCode_.has_value();
  }
  if (parts_.kind == Kind::kAttach && !exited) {
    cancelled_ = true;
    cv_.notify_all();
    parts_.output->cancel();
  }
}

void PodSession::containerExited(int code) {
  {
    std::lock_guard lock(mu_);
    if (!exitCode_) exitCode_ = code;
  }
  cv_.notify_all();
  // The log's last lines may still be on their way: the helper's follow
  // ends by itself once it has written them; cut it only if it does not.
  tracker_.add();
  std::thread([s = shared_from_this()]() mutable {
    if (!s->waitEnded(kLogSettle)) s->parts_.output->cancel();
    SessionTracker& t = s->tracker_;
    s.reset();
    t.done();
  }).detach();
}

bool PodSession::resize(unsigned rows, unsigned cols) {
  if (parts_.kind == Kind::kAttach && !parts_.input) return false;
  inputStream().resize(rows, cols);
  return true;
}

void PodSession::cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
  parts_.output->cancel();
  if (parts_.input) parts_.input->cancel();
}

}  // namespace berth::runtime::kube
