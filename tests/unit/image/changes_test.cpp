#include "image/changes.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

nlohmann::json apply(std::initializer_list<std::string_view> changes) {
  nlohmann::json c = nlohmann::json::object();
  for (std::string_view ch : changes) {
    absl::Status st = applyChange(ch, c);
    EXPECT_TRUE(st.ok()) << ch << ": " << st;
  }
  return c;
}

TEST(Changes, ExecAndShellForms) {
  auto c = apply({R"(CMD ["echo", "hi"])", "ENTRYPOINT /bin/run --flag"});
  EXPECT_EQ(c["Cmd"], nlohmann::json({"echo", "hi"}));
  EXPECT_EQ(c["Entrypoint"], nlohmann::json({"/bin/sh", "-c", "/bin/run --flag"}));
}

TEST(Changes, EnvReplacesAndQuotes) {
  auto c = apply({"ENV A=1 B=\"two words\"", "ENV A=3", "env LEGACY some value"});
  EXPECT_EQ(c["Env"], nlohmann::json({"B=two words", "A=3", "LEGACY=some value"}));
}

TEST(Changes, LabelsPortsVolumesAndScalars) {
  auto c = apply({"LABEL a=b 'c d'=e", "EXPOSE 80 53/udp", R"(VOLUME ["/data"])", "VOLUME /a /b", "USER 1000:1000",
                  "WORKDIR /srv", "STOPSIGNAL SIGINT", "ONBUILD RUN make"});
  EXPECT_EQ(c["Labels"], nlohmann::json({{"a", "b"}, {"c d", "e"}}));
  EXPECT_EQ(c["ExposedPorts"], nlohmann::json({{"80/tcp", nlohmann::json::object()}, {"53/udp", nlohmann::json::object()}}));
  EXPECT_EQ(c["Volumes"].size(), 3u);
  EXPECT_EQ(c["User"], "1000:1000");
  EXPECT_EQ(c["WorkingDir"], "/srv");
  EXPECT_EQ(c["StopSignal"], "SIGINT");
  EXPECT_EQ(c["OnBuild"], nlohmann::json({"RUN make"}));
}

TEST(Changes, Refusals) {
  nlohmann::json c = nlohmann::json::object();
  absl::Status st = applyChange("RUN rm -rf /", c);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "RUN is not a valid change command");
  EXPECT_FALSE(applyChange("EXPOSE 99999", c).ok());
  EXPECT_FALSE(applyChange("EXPOSE 80/icmp", c).ok());
  EXPECT_FALSE(applyChange("ENV", c).ok());
  EXPECT_FALSE(applyChange("ENV KEY", c).ok());
  EXPECT_FALSE(applyChange("LABEL a=\"unterminated", c).ok());
  EXPECT_FALSE(applyChange("USER", c).ok());
  EXPECT_FALSE(applyChange("", c).ok());
}

}  // namespace
}  // namespace berth::image
