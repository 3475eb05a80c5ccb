#include "runtime/local/log_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/log_record.h"

namespace berth::runtime::local {
namespace {

namespace fs = std::filesystem;
namespace logfmt = runtime::logfmt;

class LogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("berth-logs-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void append(const std::string& file, uint8_t stream, const std::string& data, bool partial = false, uint64_t t = 1) {
    logfmt::RecordHeader h{t, uint32_t(data.size()), stream, uint8_t(partial), logfmt::kMagic};
    std::ofstream out(dir_ / file, std::ios::app | std::ios::binary);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out << data;
  }

  std::string readAll(int64_t tail) {
    auto c = openLogCursor(dir_.string(), tail);
    EXPECT_TRUE(c.ok());
    std::string out;
    EXPECT_TRUE((*c)->readAvailable([&](const LogEntry& e) { out += std::to_string(e.stream) + ":" + std::string(e.data); }).ok());
    return out;
  }

  fs::path dir_;
};

TEST_F(LogReaderTest, AllTailAndStreams) {
  append("container.log", 1, "a\n");
  append("container.log", 2, "b\n");
  append("container.log", 1, "c\n");
  EXPECT_EQ(readAll(-1), "1:a\n2:b\n1:c\n");
  EXPECT_EQ(readAll(2), "2:b\n1:c\n");
  EXPECT_EQ(readAll(0), "");
  EXPECT_EQ(readAll(10), "1:a\n2:b\n1:c\n");
}

TEST_F(LogReaderTest, TailCountsLinesNotPieces) {
  append("container.log", 1, "one\n");
  append("container.log", 1, "long-", true);
  append("container.log", 1, "line\n");
  append("container.log", 1, "last");
  EXPECT_EQ(readAll(2), "1:long-1:line\n1:last");
}

TEST_F(LogReaderTest, RotatedFilesOldestFirstAndTornTail) {
  append("container.log.2", 1, "oldest\n");
  append("container.log.1", 1, "older\n");
  append("container.log", 1, "new\n");
  // A record still being written: its header but not all its bytes.
  logfmt::RecordHeader h{1, 100, 1, 0, logfmt::kMagic};
  std::ofstream(dir_ / "container.log", std::ios::app | std::ios::binary).write(reinterpret_cast<const char*>(&h), sizeof h);
  EXPECT_EQ(readAll(-1), "1:oldest\n1:older\n1:new\n");
  EXPECT_EQ(readAll(2), "1:older\n1:new\n");
}

TEST_F(LogReaderTest, FollowsAppendsAndRotation) {
  append("container.log", 1, "a\n");
  auto c = openLogCursor(dir_.string(), -1);
  ASSERT_TRUE(c.ok());
  std::string out;
  auto sink = [&](const LogEntry& e) { out += std::string(e.data); };
  ASSERT_TRUE((*c)->readAvailable(sink).ok());
  EXPECT_EQ(out, "a\n");
  EXPECT_GE((*c)->changeFd(), 0);
  append("container.log", 1, "b\n");
  fs::rename(dir_ / "container.log", dir_ / "container.log.1");
  append("container.log", 1, "c\n");
  ASSERT_TRUE((*c)->readAvailable(sink).ok());
  EXPECT_EQ(out, "a\nb\nc\n");
}

TEST_F(LogReaderTest, MissingLogIsEmpty) { EXPECT_EQ(readAll(-1), ""); }

}  // namespace
}  // namespace berth::runtime::local
