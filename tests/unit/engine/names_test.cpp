#include "engine/names.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

TEST(ContainerNames, DockerdRule) {
  for (const char* ok : {"web", "/web", "a1", "my_app.v2-x", "9lives"}) EXPECT_TRUE(isValidContainerName(ok)) << ok;
  for (const char* bad : {"", "/", "a", "_x", ".x", "-x", "a/b", "a b", "ä1", "x:y"}) {
    EXPECT_FALSE(isValidContainerName(bad)) << bad;
  }
}

TEST(ContainerNames, GeneratedNamesAreValid) {
  for (int i = 0; i < 100; ++i) {
    std::string n = generateContainerName(i % 3);
    EXPECT_TRUE(isValidContainerName(n)) << n;
    EXPECT_NE(n.find('_'), std::string::npos);
  }
}

}  // namespace
}  // namespace berth::engine
