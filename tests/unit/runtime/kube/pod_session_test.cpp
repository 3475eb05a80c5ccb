// A pod session between an engine connection (monitor frames on a
// socketpair) and fake pod streams: what reaches the pod, what reaches the
// client, and how each kind of session ends.
#include "runtime/kube/pod_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "runtime/kube/stdin_frames.h"
#include "runtime/log_record.h"
#include "runtime/monitor_protocol.h"

namespace berth::runtime::kube {
namespace {

namespace proto = runtime::monitor;

// What a fake stream saw; shared, as the session owns (and frees) the stream.
struct Seen {
  std::mutex mu;
  std::condition_variable cv;
  std::string written;
  std::vector<std::pair<unsigned, unsigned>> sizes;
  bool finished = false, cancelled = false;
};

class FakeStream final : public PodStream {
 public:
  FakeStream(std::shared_ptr<Seen> seen, std::vector<std::pair<int, std::string>> emit,
             std::function<bool(const Seen&)> endsWhen, absl::StatusOr<int> result)
      : seen_(std::move(seen)), emit_(std::move(emit)), endsWhen_(std::move(endsWhen)), result_(std::move(result)) {}
  absl::StatusOr<int> run(const OutputHandler& onOutput) override {
    for (auto& [channel, data] : emit_) onOutput(channel, data);
    std::unique_lock lock(seen_->mu);
    seen_->cv.wait(lock, [&] { return seen_->cancelled || (endsWhen_ && endsWhen_(*seen_)); });
    if (seen_->cancelled) return absl::CancelledError("cancelled");
    return result_;
  }
  void write(std::string_view d) override { change([&](Seen& s) { s.written += d; }); }
  void resize(unsigned rows, unsigned cols) override { change([&](Seen& s) { s.sizes.emplace_back(rows, cols); }); }
  void finish() override { change([](Seen& s) { s.finished = true; }); }
  void cancel() override { change([](Seen& s) { s.cancelled = true; }); }

 private:
  template <class F>
  void change(F f) {
    std::lock_guard lock(seen_->mu);
    f(*seen_);
    seen_->cv.notify_all();
  }
  std::shared_ptr<Seen> seen_;
  std::vector<std::pair<int, std::string>> emit_;
  std::function<bool(const Seen&)> endsWhen_;
  absl::StatusOr<int> result_;
};

std::string record(uint8_t stream, const std::string& text) {
  logfmt::RecordHeader h{1, uint32_t(text.size()), stream, 0, logfmt::kMagic};
  return std::string(reinterpret_cast<const char*>(&h), sizeof h) + text;
}

// The frames the client reads until the session closes its end.
std::vector<std::pair<int, std::string>> readAll(int fd) {
  std::vector<std::pair<int, std::string>> frames;
  std::string data;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) data.append(buf, size_t(n));
  size_t off = 0;
  while (off + proto::kHeaderSize <= data.size()) {
    uint32_t len = proto::decodeLength(reinterpret_cast<const unsigned char*>(data.data() + off));
    frames.emplace_back(static_cast<unsigned char>(data[off]), data.substr(off + proto::kHeaderSize, len));
    off += proto::kHeaderSize + len;
  }
  EXPECT_EQ(off, data.size());
  return frames;
}

struct Pair {
  UniqueFd client, session;
  Pair() {
    int sp[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    client = UniqueFd(sp[0]);
    session = UniqueFd(sp[1]);
  }
  void send(uint8_t type, std::string_view payload) {
    std::string f = proto::frame(type, payload);
    ASSERT_EQ(::write(client.get(), f.data(), f.size()), ssize_t(f.size()));
  }
};

using Frames = std::vector<std::pair<int, std::string>>;

PodSession::Parts partsFor(PodSession::Kind kind, Pair& p, std::string streams) {
  PodSession::Parts parts;
  parts.kind = kind;
  parts.connection = std::move(p.session);
  parts.streams = std::move(streams);
  return parts;
}

TEST(PodSession, ExecFramesStdinAndEndsWithTheCommandsCode) {
  auto seen = std::make_shared<Seen>();
  Pair p;
  p.send(proto::kHello, "ioe");
  p.send(proto::kStdin, "abc");
  p.send(proto::kResize, "24 80");
  p.send(proto::kCloseStdin, "");
  PodSession::Parts parts;
  parts.kind = PodSession::Kind::kExec;
  parts.connection = std::move(p.session);
  ASSERT_EQ(*PodSession::readHello(parts.connection.get()), "ioe");
  parts.streams = "ioe";
  parts.framedStdin = true;
  // The command answers once its stdin has ended.
  std::string ended = stdinFrame("abc") + stdinFrame("");
  parts.output = std::make_unique<FakeStream>(seen, Frames{{1, "out\n"}, {2, "err\n"}},
                                              [ended](const Seen& s) { return s.written == ended; }, 7);
  SessionTracker tracker;
  std::optional<int> told;
  PodSession::start(std::move(parts), tracker, [&told](const absl::StatusOr<int>& rc) {
    told = *rc;
    return *rc;
  });
  EXPECT_EQ(readAll(p.client.get()), (Frames{{proto::kStdout, "out\n"}, {proto::kStderr, "err\n"}, {proto::kExit, "7"}}));
  tracker.waitIdle();
  EXPECT_EQ(told, 7);
  EXPECT_EQ(seen->written, ended);
  EXPECT_EQ(seen->sizes, (std::vector<std::pair<unsigned, unsigned>>{{24, 80}}));
}

TEST(PodSession, ExecOutputGoesOnlyWhereAsked) {
  auto seen = std::make_shared<Seen>();
  Pair p;
  PodSession::Parts parts = partsFor(PodSession::Kind::kExec, p, "e");
  parts.output = std::make_unique<FakeStream>(seen, Frames{{1, "out\n"}, {2, "err\n"}}, [](const Seen&) { return true; }, 0);
  SessionTracker tracker;
  PodSession::start(std::move(parts), tracker, [](const absl::StatusOr<int>& rc) { return *rc; });
  EXPECT_EQ(readAll(p.client.get()), (Frames{{proto::kStderr, "err\n"}, {proto::kExit, "0"}}));
  tracker.waitIdle();
  EXPECT_EQ(seen->written, "");  // no stdin asked for: nothing sent, not even its end
}

TEST(PodSession, AttachKeepsTheLogsStreamsApartAndEndsWithTheHelpersExit) {
  auto logSeen = std::make_shared<Seen>();
  auto inSeen = std::make_shared<Seen>();
  Pair p;
  PodSession::Parts parts = partsFor(PodSession::Kind::kAttach, p, "ioe");
  std::string log = record(1, "a\n") + record(2, "b\n");
  // The records arrive split, as a stream may cut them anywhere.
  parts.output = std::make_unique<FakeStream>(
      logSeen, Frames{{1, log.substr(0, 5)}, {1, log.substr(5)}, {2, "exited 4\n"}},
      [](const Seen&) { return true; }, absl::UnavailableError("no status"));
  parts.input = std::make_unique<FakeStream>(inSeen, Frames{}, nullptr, 0);
  SessionTracker tracker;
  PodSession::start(std::move(parts), tracker, nullptr);
  EXPECT_EQ(readAll(p.client.get()), (Frames{{proto::kStdout, "a\n"}, {proto::kStderr, "b\n"}, {proto::kExit, "4"}}));
  tracker.waitIdle();
  EXPECT_TRUE(inSeen->cancelled);  // the process ended: its stdin stream goes
}

TEST(PodSession, AttachClientLeavingEndsStdinGracefully) {
  auto logSeen = std::make_shared<Seen>();
  auto inSeen = std::make_shared<Seen>();
  Pair p;
  PodSession::Parts parts = partsFor(PodSession::Kind::kAttach, p, "io");
  parts.output = std::make_unique<FakeStream>(logSeen, Frames{}, nullptr, 0);
  parts.input = std::make_unique<FakeStream>(inSeen, Frames{}, [](const Seen& s) { return s.finished; }, 0);
  SessionTracker tracker;
  std::shared_ptr<PodSession> s = PodSession::start(std::move(parts), tracker, nullptr);
  p.send(proto::kStdin, "x");
  p.client.reset();  // the client goes
  s.reset();
  tracker.waitIdle();
  EXPECT_EQ(inSeen->written, "x");
  EXPECT_TRUE(inSeen->finished);    // closed, so the kubelet ends stdin (StdinOnce)
  EXPECT_FALSE(inSeen->cancelled);  // not cut short
  EXPECT_TRUE(logSeen->cancelled);  // and the log is no longer followed
}

TEST(PodSession, AttachEndsWithTheExitTheClusterReports) {
  auto logSeen = std::make_shared<Seen>();
  Pair p;
  PodSession::Parts parts = partsFor(PodSession::Kind::kAttach, p, "o");
  // A killed process: the helper never writes its exit, the log follow goes on.
  parts.output = std::make_unique<FakeStream>(logSeen, Frames{{1, record(1, "last\n")}}, nullptr, 0);
  SessionTracker tracker;
  std::shared_ptr<PodSession> s = PodSession::start(std::move(parts), tracker, nullptr);
  EXPECT_FALSE(s->resize(10, 20));  // no stdin stream to carry it
  s->containerExited(137);
  s.reset();
  EXPECT_EQ(readAll(p.client.get()), (Frames{{proto::kStdout, "last\n"}, {proto::kExit, "137"}}));
  tracker.waitIdle();
}

TEST(StdinFrames, WholeFramesOnlyAndTheEnd) {
  std::string all = stdinFrame("hello ") + stdinFrame("world") + stdinFrame("") + "rest";
  std::string buffer = all.substr(0, 7);
  std::string got;
  auto sink = [&got](std::string_view d) { got += d; };
  EXPECT_FALSE(takeStdinFrames(buffer, sink));
  EXPECT_EQ(got, "");  // the first frame is not whole yet
  buffer += all.substr(7);
  EXPECT_TRUE(takeStdinFrames(buffer, sink));
  EXPECT_EQ(got, "hello world");
  EXPECT_EQ(buffer, "rest");  // what follows the end is not taken
}

TEST(TakeLogRecords, WholeRecordsAndDamage) {
  std::string buffer = record(1, "one\n") + record(2, "two\n").substr(0, 10);
  std::vector<std::string> got;
  auto sink = [&got](const LogEntry& e) { got.push_back(std::to_string(e.stream) + std::string(e.data)); };
  ASSERT_TRUE(takeLogRecords(buffer, sink).ok());
  EXPECT_EQ(got, std::vector<std::string>{"1one\n"});
  EXPECT_EQ(buffer.size(), 10u);
  bool caughtUp = false;
  buffer = record(2, "two\n") + record(logfmt::kMarkerStream, "");
  ASSERT_TRUE(takeLogRecords(buffer, sink, &caughtUp).ok());
  EXPECT_TRUE(caughtUp);
  EXPECT_EQ(got, (std::vector<std::string>{"1one\n", "2two\n"}));  // the marker is not an entry
  buffer = "not a record at all";
  EXPECT_EQ(takeLogRecords(buffer, sink).code(), absl::StatusCode::kDataLoss);
}

TEST(StreamTarget, ExecAndAttachQueries) {
  KubeConfig c;
  c.server = "https://127.0.0.1:6443";
  c.nameSpace = "ci";
  auto client = KubeClient::create(c, "test");
  ASSERT_TRUE(client.ok());
  StreamRequest exec;
  exec.pod = "berth-abc";
  exec.container = "main";
  exec.stdin = true;
  exec.command = {"/.berth/berth-kubehelper", "exec", "--", "sh", "-c", "echo a&b"};
  EXPECT_EQ(streamTarget(**client, exec),
            "/api/v1/namespaces/ci/pods/berth-abc/exec?container=main&stdin=1&stdout=1&stderr=1"
            "&command=%2F.berth%2Fberth-kubehelper&command=exec&command=--&command=sh&command=-c&command=echo%20a%26b");
  StreamRequest attach;
  attach.pod = "berth-abc";
  attach.container = "main";
  attach.stdin = true;
  attach.stdout = attach.stderr = false;
  attach.tty = true;
  EXPECT_EQ(streamTarget(**client, attach),
            "/api/v1/namespaces/ci/pods/berth-abc/attach?container=main&stdin=1&stdout=0&stderr=0&tty=1");
}

}  // namespace
}  // namespace berth::runtime::kube
