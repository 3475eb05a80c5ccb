// Drives the real berth-kubehelper binary as the pod would, in a temporary
// directory standing for /.berth.
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/kube/copy_ops.h"
#include "runtime/kube/stdin_frames.h"
#include "runtime/kube/tunnel_relay.h"
#include "runtime/log_record.h"
#include "util/unique_fd.h"

namespace {

namespace logfmt = berth::runtime::logfmt;

struct Result {
  int code = -1;
  std::string out, err;
};

class KubeHelper : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-kubehelper-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    setenv("BERTH_KUBEHELPER_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("BERTH_KUBEHELPER_DIR");
    std::filesystem::remove_all(dir_);
  }

  // Starts the helper with `args`; its stdout and stderr go to files.
  // Each run has files of its own: test.<pid>.out and .err.
  pid_t spawn(const std::vector<std::string>& args, int stdinFd = -1) {
    pid_t pid = fork();
    if (pid == 0) {
      if (stdinFd >= 0) dup2(stdinFd, 0);
      int out = ::open(outFile(getpid(), "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(outFile(getpid(), "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<char*> argv;
      std::string bin = BERTH_KUBEHELPER_PATH;
      argv.push_back(bin.data());
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(99);
    }
    return pid;
  }
  Result finish(pid_t pid) {
    Result r;
    int st = 0;
    waitpid(pid, &st, 0);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = berth::readFileOrEmpty(outFile(pid, "out"));
    r.err = berth::readFileOrEmpty(outFile(pid, "err"));
    return r;
  }
  std::string outFile(pid_t pid, const char* kind) {
    return (dir_ / ("test." + std::to_string(pid) + "." + kind)).string();
  }
  Result run(const std::vector<std::string>& args) { return finish(spawn(args)); }

  // (stream, text) of each log record; `logs`' marker record is left out.
  std::vector<std::pair<int, std::string>> records(const std::string& data) {
    std::vector<std::pair<int, std::string>> out;
    size_t off = 0;
    while (off + sizeof(logfmt::RecordHeader) <= data.size()) {
      logfmt::RecordHeader h;
      memcpy(&h, data.data() + off, sizeof h);
      EXPECT_EQ(h.magic, logfmt::kMagic);
      off += sizeof h;
      if (h.stream != logfmt::kMarkerStream) out.emplace_back(h.stream, data.substr(off, h.length));
      off += h.length;
    }
    EXPECT_EQ(off, data.size());
    return out;
  }

  std::filesystem::path dir_;
};

TEST_F(KubeHelper, RunPassesOutputThroughKeepsStreamsApartAndExitsWithTheCode) {
  Result r = run({"run", "--", "/bin/sh", "-c", "echo out; echo err >&2; printf tail; exit 3"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out, "out\ntail");
  EXPECT_EQ(r.err, "err\n");
  std::string log = berth::readFileOrEmpty((dir_ / "container.log").string());
  auto recs = records(log);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0], std::make_pair(1, std::string("out\n")));
  EXPECT_EQ(recs[1], std::make_pair(2, std::string("err\n")));
  EXPECT_EQ(recs[2], std::make_pair(1, std::string("tail")));
  EXPECT_EQ(berth::readFileOrEmpty((dir_ / "exited").string()), "3\n");
  // `logs` hands the records over as they are, then its marker.
  logfmt::RecordHeader marker;
  Result l = run({"logs"});
  EXPECT_EQ(l.code, 0);
  ASSERT_EQ(l.out.size(), log.size() + sizeof marker);
  EXPECT_EQ(l.out.substr(0, log.size()), log);
  memcpy(&marker, l.out.data() + log.size(), sizeof marker);
  EXPECT_EQ(marker.stream, logfmt::kMarkerStream);
  EXPECT_EQ(marker.length, 0u);
  EXPECT_EQ(marker.magic, logfmt::kMagic);
  EXPECT_EQ(l.err, "");
  // --tail counts lines: the last is "err\n" then the unterminated "tail".
  l = run({"logs", "--tail", "2"});
  auto tail2 = records(l.out);
  ASSERT_EQ(tail2.size(), 2u);
  EXPECT_EQ(tail2[0].second, "err\n");
  EXPECT_TRUE(records(run({"logs", "--tail", "0"}).out).empty());
  Result follow = run({"logs", "--follow", "--tail", "9"});  // exited: follow ends at once
  EXPECT_EQ(follow.out.substr(0, log.size()), log);
  EXPECT_EQ(follow.err, "exited 3\n");  // the exit, for an attach that follows the log
}

TEST_F(KubeHelper, RunWithATerminalLogsWhatTheProcessWrites) {
  // The process gets a terminal of the helper's own, even where the pod gave none.
  berth::UniqueFd devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Result r = finish(spawn({"run", "--tty", "--", "/bin/sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; exit 2"},
                          devNull.get()));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "on-a-tty\r\n");
  auto recs = records(berth::readFileOrEmpty((dir_ / "container.log").string()));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], std::make_pair(1, std::string("on-a-tty\r\n")));
}

TEST_F(KubeHelper, ExecWithItsOwnEnvironmentDirectoryAndExitCode) {
  setenv("BERTH_TEST_LEAK", "leaked", 1);
  Result r = run({"exec", "--env", "A=1", "--env", "PATH=/usr/bin:/bin", "--cwd", "/tmp", "--", "/bin/sh", "-c",
                  "echo $A; pwd; echo \"[$BERTH_TEST_LEAK]\"; exit 5"});
  unsetenv("BERTH_TEST_LEAK");
  EXPECT_EQ(r.code, 5);
  EXPECT_EQ(r.out, "1\n/tmp\n[]\n");  // exactly the given variables
  r = run({"exec", "--cwd", "/no/such/dir", "--", "true"});
  EXPECT_EQ(r.code, 126);
  EXPECT_EQ(r.err, "chdir to cwd (\"/no/such/dir\") set in config.json failed: No such file or directory\n");
  r = run({"exec", "--", "no-such-program"});
  EXPECT_EQ(r.code, 127);
  EXPECT_EQ(r.err, "exec: \"no-such-program\": executable file not found in $PATH\n");
  r = run({"exec", "--user", "no-such-user", "--", "true"});
  EXPECT_EQ(r.code, 126);
  EXPECT_EQ(r.err, "unable to find user no-such-user: no matching entries in passwd file\n");
  if (geteuid() == 0) {  // becoming another user needs root
    r = run({"exec", "--user", "nobody", "--", "/bin/sh", "-c", "id -un; id -u"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, "nobody\n65534\n");
    r = run({"exec", "--user", "1234:daemon", "--", "/bin/sh", "-c", "id -u; id -g"});
    EXPECT_EQ(r.out, "1234\n1\n");
  }
}

TEST_F(KubeHelper, ExecFramedStdinEndsAtItsEndFrameWhileTheStreamStaysOpen) {
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  pid_t pid = spawn({"exec", "--framed-stdin", "--", "/bin/sh", "-c", "cat; echo done"}, in[0]);
  ::close(in[0]);
  std::string frames = berth::runtime::kube::stdinFrame("hello ") + berth::runtime::kube::stdinFrame("world\n") +
                       berth::runtime::kube::stdinFrame("");
  ASSERT_EQ(::write(in[1], frames.data(), 3), 3);  // a frame cut in two
  ASSERT_EQ(::write(in[1], frames.data() + 3, frames.size() - 3), ssize_t(frames.size() - 3));
  Result r = finish(pid);  // without closing the pipe: the end frame ends cat's input
  ::close(in[1]);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "hello world\ndone\n");
  // A program that is not there fails the same way with framed stdin.
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  pid = spawn({"exec", "--framed-stdin", "--", "no-such-program"}, in[0]);
  ::close(in[0]);
  r = finish(pid);
  ::close(in[1]);
  EXPECT_EQ(r.code, 127);
  EXPECT_EQ(r.err, "exec: \"no-such-program\": executable file not found in $PATH\n");
}

TEST_F(KubeHelper, ExecFailureIsRuncsText) {
  Result r = run({"run", "--", "no-such-program"});
  EXPECT_EQ(r.code, 127);
  EXPECT_EQ(r.err, "berth-kubehelper: exec: \"no-such-program\": executable file not found in $PATH\n");
  // What the daemon asks (from the sidecar) before it reports a start.
  Result verdict = run({"started"});
  EXPECT_EQ(verdict.code, 127);
  EXPECT_EQ(verdict.out, "exec: \"no-such-program\": executable file not found in $PATH");
  r = run({"run", "--", "/no/such/file"});
  EXPECT_EQ(r.code, 127);
  EXPECT_EQ(r.err, "berth-kubehelper: exec: \"/no/such/file\": stat /no/such/file: no such file or directory\n");
}

TEST_F(KubeHelper, StartedOnceTheProcessRuns) {
  pid_t pid = spawn({"run", "--", "/bin/sh", "-c", "exec sleep 30"});
  EXPECT_EQ(run({"started"}).code, 0);  // waits for the exec, however long the fork takes
  EXPECT_EQ(run({"signal", "9"}).code, 0);
  EXPECT_EQ(finish(pid).code, 137);
}

TEST_F(KubeHelper, SignalReachesTheProcessAndGateHoldsItBack) {
  pid_t pid = spawn({"run", "--gate", "--", "/bin/sh", "-c", "echo started; exec sleep 30"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "child.pid"));  // held at the gate
  EXPECT_EQ(run({"signal", "15"}).code, 3);                   // nothing to signal yet
  EXPECT_EQ(run({"release"}).code, 0);
  for (int i = 0; i < 100 && berth::readFileOrEmpty(outFile(pid, "out")).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(std::filesystem::exists(dir_ / "child.pid"));
  Result s = run({"signal", "15"});
  EXPECT_EQ(s.code, 0) << s.err;
  Result r = finish(pid);
  EXPECT_EQ(r.code, 128 + SIGTERM);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_EQ(run({"signal", "abc"}).code, 2);
}

TEST_F(KubeHelper, ForwardsSignalsItReceives) {
  pid_t pid = spawn({"run", "--", "/bin/sh", "-c", "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done"});
  for (int i = 0; i < 100 && berth::readFileOrEmpty(outFile(pid, "out")).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGINT);
  Result r = finish(pid);
  EXPECT_EQ(r.code, 7);
  EXPECT_EQ(r.out, "ready\ngot-int\n");
}

TEST_F(KubeHelper, InstallCopiesItself) {
  std::filesystem::create_directories(dir_ / "target");
  EXPECT_EQ(run({"install", (dir_ / "target").string()}).code, 0);
  EXPECT_EQ(berth::readFileOrEmpty((dir_ / "target/berth-kubehelper").string()),
            berth::readFileOrEmpty(BERTH_KUBEHELPER_PATH));
  EXPECT_EQ(access((dir_ / "target/berth-kubehelper").c_str(), X_OK), 0);
}

// Connects to 127.0.0.1:port (retrying while the sidecar starts up).
berth::UniqueFd connectTcp(uint16_t port) {
  for (int i = 0; i < 100; ++i) {
    berth::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return berth::UniqueFd();
}

berth::UniqueFd connectUnix(const std::string& path) {
  berth::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  path.copy(a.sun_path, sizeof a.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return berth::UniqueFd();
  return fd;
}

std::string readAll(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  return out;
}

TEST_F(KubeHelper, DockerSocketJoinsEachClientToADataConnectionBerthOpens) {
  // A free port for the tunnel end.
  berth::UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(probe.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  uint16_t port = ntohs(a.sin_port);
  probe.reset();
  std::string sock = (dir_ / "docker.sock").string();
  pid_t sidecar = spawn({"serve", "--docker-socket", sock, "--tunnel-port", std::to_string(port)});

  berth::UniqueFd control = connectTcp(port);
  ASSERT_TRUE(control.valid());
  ASSERT_EQ(::write(control.get(), "C", 1), 1);
  berth::UniqueFd client;
  for (int i = 0; i < 100 && !client.valid(); ++i) {
    client = connectUnix(sock);
    if (!client.valid()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(client.valid());
  struct stat st {};
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  char asked = 0;
  ASSERT_EQ(::read(control.get(), &asked, 1), 1);
  EXPECT_EQ(asked, 'N');
  berth::UniqueFd data = connectTcp(port);
  ASSERT_EQ(::write(data.get(), "D", 1), 1);
  // The client's bytes cross in frames, its half-close as the end frame
  // (tunnel_relay.h); Berth's answer crosses as it is, and its end ends both.
  ASSERT_EQ(::write(client.get(), "GET /_ping HTTP/1.1\r\n\r\n", 23), 23);
  ::shutdown(client.get(), SHUT_WR);
  std::string expected = berth::runtime::kube::stdinFrame("GET /_ping HTTP/1.1\r\n\r\n") + berth::runtime::kube::stdinFrame("");
  std::string got;
  char buf[256];
  while (got.size() < expected.size()) {
    ssize_t n = ::read(data.get(), buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, size_t(n));
  }
  EXPECT_EQ(got, expected);
  ASSERT_EQ(::write(data.get(), "OK", 2), 2);
  ::shutdown(data.get(), SHUT_WR);
  EXPECT_EQ(readAll(client.get()), "OK");

  // A client that came while Berth had no control connection is asked for when one comes.
  control.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  berth::UniqueFd later = connectUnix(sock);
  ASSERT_TRUE(later.valid());
  control = connectTcp(port);
  ASSERT_EQ(::write(control.get(), "C", 1), 1);
  ASSERT_EQ(::read(control.get(), &asked, 1), 1);
  EXPECT_EQ(asked, 'N');

  ::kill(sidecar, SIGTERM);
  EXPECT_EQ(finish(sidecar).code, 0);
}

struct SocketPair {
  berth::UniqueFd a, b;
  SocketPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

// Pod client ↔ broker relay ↔ tunnel ↔ Berth relay ↔ API: the client's
// half-close reaches the API as one, while the answer still flows back.
TEST(TunnelRelay, AHalfCloseCrossesTheTunnelInBand) {
  SocketPair client, tunnel, api;
  std::thread pod([&] { berth::runtime::kube::relayTunnel(client.b.get(), tunnel.a.get(), true); tunnel.a.reset(); client.b.reset(); });
  std::thread berth([&] { berth::runtime::kube::relayTunnel(api.a.get(), tunnel.b.get(), false); tunnel.b.reset(); api.a.reset(); });
  std::string request(100000, 'x');  // more than one read
  ASSERT_TRUE(berth::runtime::kube::sendAll(client.a.get(), request));
  ::shutdown(client.a.get(), SHUT_WR);
  EXPECT_EQ(readAll(api.b.get()), request);  // ends: the half-close arrived
  ASSERT_TRUE(berth::runtime::kube::sendAll(api.b.get(), "answer after the client's end"));
  api.b.reset();  // the API closes: the tunnel and the client's connection end
  EXPECT_EQ(readAll(client.a.get()), "answer after the client's end");
  pod.join();
  berth.join();
}

}  // namespace

namespace {

namespace copyops = berth::runtime::kube::copyops;
using berth::runtime::kube::stdinFrame;

std::string entry(char type, const std::string& name, uint32_t mode, const std::string& data = "",
                  const std::string& link = "", int64_t mtime = 1000000000) {
  copyops::Entry e;
  e.type = type;
  e.name = name;
  e.mode = mode;
  e.uid = 1234;
  e.gid = 5678;
  e.mtime = mtime;
  e.size = data.size();
  e.link = link;
  return copyops::encodeHeader(e) + data;
}

}  // namespace

// The names in a tar file, as GNU tar lists them.
std::string listTar(const std::string& file) {
  std::string out;
  FILE* p = popen(("tar -tf " + file).c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

class KubeHelperArchive : public KubeHelper {
 protected:
  // `archive put` with `ops` as framed stdin (in pieces of `piece` bytes).
  Result put(const std::vector<std::string>& args, const std::string& ops, size_t piece = 7) {
    std::string frames;
    for (size_t at = 0; at < ops.size(); at += piece) frames += stdinFrame(std::string_view(ops).substr(at, piece));
    frames += stdinFrame("");
    int in[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    pid_t pid = spawn(args, in[0]);
    ::close(in[0]);
    EXPECT_EQ(::write(in[1], frames.data(), frames.size()), ssize_t(frames.size()));
    Result r = finish(pid);
    ::close(in[1]);
    return r;
  }
  std::string target() {
    std::string t = (dir_ / "target").string();
    std::filesystem::create_directories(t);
    return t;
  }
};

TEST_F(KubeHelperArchive, PutMakesTheEntriesWithTheirModesOwnersLinksAndTimes) {
  std::string t = target();
  std::string ops = entry('d', "sub", 0750) + entry('f', "sub/file", 0640, "hello\n") +
                    entry('l', "sub/link", 0777, "", "file") + entry('h', "sub/hard", 0, "", "sub/file") +
                    entry('f', "empty", 0600);
  Result r = put({"archive", "put", t}, ops);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(berth::readFileOrEmpty(t + "/sub/file"), "hello\n");
  struct stat st {};
  ASSERT_EQ(::stat((t + "/sub/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtime, 1000000000);
  if (geteuid() == 0) {
    EXPECT_EQ(std::make_pair(st.st_uid, st.st_gid), std::make_pair(1234u, 5678u));
  }
  EXPECT_EQ(st.st_nlink, 2u);  // sub/hard
  EXPECT_EQ(std::filesystem::read_symlink(t + "/sub/link"), "file");
  ASSERT_EQ(::stat((t + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtime, 1000000000);  // set after its contents were made
  EXPECT_EQ(berth::readFileOrEmpty(t + "/empty"), "");
  // --owner: everything the container user's.
  if (geteuid() == 0) {
    r = put({"archive", "put", t, "--owner", "42:43"}, entry('f', "owned", 0644, "x"));
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(::stat((t + "/owned").c_str(), &st), 0);
    EXPECT_EQ(std::make_pair(st.st_uid, st.st_gid), std::make_pair(42u, 43u));
  }
  // A file replaces a file; a directory may replace a file unless told not to.
  r = put({"archive", "put", t}, entry('f', "empty", 0644, "now full"));
  EXPECT_EQ(berth::readFileOrEmpty(t + "/empty"), "now full");
  r = put({"archive", "put", t, "--no-overwrite-dir-non-dir"}, entry('d', "empty", 0755));
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "cannot overwrite non-directory \"empty\" with directory\n");
  r = put({"archive", "put", t}, entry('d', "empty", 0755));
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(std::filesystem::is_directory(t + "/empty"));
}

TEST_F(KubeHelperArchive, PutRefusesNamesOutsideItsDirectoryAndOtherTargets) {
  std::string t = target();
  for (std::string bad : {"../escape", "/abs", "a/../../b", "./x"}) {
    Result r = put({"archive", "put", t}, entry('f', bad, 0644, "x"));
    EXPECT_EQ(r.code, 4) << bad;
    EXPECT_EQ(r.err, "a copy entry outside its directory: " + bad + "\n");
  }
  Result r = put({"archive", "put", t}, entry('h', "h", 0, "", "../outside"));
  EXPECT_EQ(r.code, 4);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "escape"));
  r = put({"archive", "put", t + "/missing"}, entry('f', "x", 0644, "x"));
  EXPECT_EQ(r.code, 2);
  std::ofstream((dir_ / "plain").string()) << "x";
  r = put({"archive", "put", (dir_ / "plain").string()}, entry('f', "x", 0644, "x"));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "extraction point is not a directory\n");
  // A stream that breaks off inside a file's data is an error, not a short file taken as whole.
  std::string cut = entry('f', "cut", 0644, "0123456789");
  r = put({"archive", "put", t}, cut.substr(0, cut.size() - 4));
  EXPECT_EQ(r.code, 4);
}

TEST_F(KubeHelperArchive, StatAndGetAsTheDaemonDoesHere) {
  std::string t = target();
  std::filesystem::create_directories(t + "/d/e");
  std::ofstream(t + "/d/f") << "data";
  std::filesystem::create_symlink("f", t + "/d/l");
  Result r = run({"archive", "stat", t + "/d/f"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream fields(r.out);
  std::string mode, size, mtime, name, link;
  fields >> mode >> size >> mtime >> name >> link;
  EXPECT_EQ(std::stoul(mode) & S_IFMT, unsigned(S_IFREG));
  EXPECT_EQ(size, "4");
  EXPECT_EQ(name, "66");  // "f" in hex
  EXPECT_EQ(link, "-");
  r = run({"archive", "stat", t + "/d/l"});
  fields = std::istringstream(r.out);
  fields >> mode >> size >> mtime >> name >> link;
  EXPECT_EQ(std::stoul(mode) & S_IFMT, unsigned(S_IFLNK));  // not followed
  EXPECT_EQ(link, "66");
  EXPECT_EQ(run({"archive", "stat", t + "/d/missing"}).code, 2);
  EXPECT_EQ(run({"archive", "stat", t + "/d/f/"}).code, 2);  // a file asked for as a directory
  // get: the base name at the top; "d/." the contents only.
  r = run({"archive", "get", t + "/d"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string tarFile = (dir_ / "out.tar").string();
  std::ofstream(tarFile) << r.out;
  std::string list = listTar(tarFile);
  EXPECT_EQ(list, "d/\nd/e/\nd/f\nd/l\n");
  r = run({"archive", "get", t + "/d/."});
  std::ofstream(tarFile) << r.out;
  EXPECT_EQ(listTar(tarFile), "./\n./e/\n./f\n./l\n");
  EXPECT_EQ(run({"archive", "get", t + "/nothing"}).code, 2);
}
