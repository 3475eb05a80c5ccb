// Drives the real berth-kubehelper binary as the pod would, in a temporary
// directory standing for /.berth.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "runtime/kube/stdin_frames.h"
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

}  // namespace
