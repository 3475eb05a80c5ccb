#include "util/fd_passing.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <string>

namespace berth {
namespace {

struct Pair {
  UniqueFd a, b;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

ino_t inodeOf(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

TEST(FdPassing, BytesAndFdsArriveTogether) {
  Pair p;
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd root(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int fds[2] = {devnull.get(), root.get()};
  ASSERT_TRUE(sendWithFds(p.a.get(), std::span("hi", 2), fds).ok());
  char buf[8];
  std::vector<UniqueFd> got;
  absl::StatusOr<size_t> n = receiveWithFds(p.b.get(), buf, got);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(buf, *n), "hi");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(inodeOf(got[0].get()), inodeOf(devnull.get()));
  EXPECT_EQ(inodeOf(got[1].get()), inodeOf(root.get()));
  EXPECT_EQ(::fcntl(got[0].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST(FdPassing, NoFdsAndEndOfStream) {
  Pair p;
  ASSERT_TRUE(sendWithFds(p.a.get(), std::span("x", 1), {}).ok());
  char c;
  std::vector<UniqueFd> got;
  got.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  absl::StatusOr<size_t> n = receiveWithFds(p.b.get(), std::span(&c, 1), got);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_TRUE(got.empty());  // replaced, not appended to
  p.a.reset();
  n = receiveWithFds(p.b.get(), std::span(&c, 1), got);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST(FdPassing, RefusesWhatCannotBeSent) {
  Pair p;
  int fd = p.a.get();
  EXPECT_EQ(sendWithFds(p.a.get(), {}, std::span(&fd, 1)).code(), absl::StatusCode::kInvalidArgument);
  int many[kMaxPassedFds + 1] = {fd, fd, fd, fd, fd};
  EXPECT_EQ(sendWithFds(p.a.get(), std::span("x", 1), many).code(), absl::StatusCode::kInvalidArgument);
  p.b.reset();
  EXPECT_FALSE(sendWithFds(p.a.get(), std::span("x", 1), {}).ok());  // EPIPE, no SIGPIPE
}

}  // namespace
}  // namespace berth
