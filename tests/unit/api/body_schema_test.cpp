#include "api/types/body_schema.h"

#include <gtest/gtest.h>

namespace berth::api::types {
namespace {

using nlohmann::json;

std::string createError(std::string_view body) {
  return std::string(checkBodyTypes(json::parse(body), kContainerCreateBody).message());
}

TEST(BodySchema, WellTypedBodiesPass) {
  // What `docker run` sends, with every shape a field may take.
  json body = json::parse(R"({
    "Image": "busybox", "Cmd": ["sh", "-c", "true"], "Entrypoint": "sh", "Env": ["A=1"], "Tty": false,
    "Labels": {"a": "b"}, "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}}, "StopTimeout": 10,
    "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000000, "Retries": 3},
    "HostConfig": {"Memory": 67108864, "NanoCpus": 500000000, "BlkioWeight": 500, "Binds": ["/a:/b"],
      "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "81/tcp": null},
      "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}, "CapAdd": "NET_ADMIN",
      "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}], "ConsoleSize": [24, 80],
      "Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 448}}],
      "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}, "Init": null, "MemorySwappiness": -1},
    "NetworkingConfig": {"EndpointsConfig": {"net1": {"Aliases": ["a"], "IPAMConfig": {"IPv4Address": "10.0.0.2"}}}},
    "SomethingNew": {"ignored": [1, 2]}
  })");
  EXPECT_TRUE(checkBodyTypes(body, kContainerCreateBody).ok()) << checkBodyTypes(body, kContainerCreateBody);
  // Every field null, as Go's zero values.
  EXPECT_TRUE(checkBodyTypes(json::parse(R"({"Image":null,"HostConfig":null,"Cmd":null})"), kContainerCreateBody).ok());
}

TEST(BodySchema, WrongTypesNameTheFieldAsDockerd) {
  EXPECT_EQ(createError(R"({"Image": 5})"),
            "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Image of type string");
  EXPECT_EQ(createError(R"({"HostConfig": {"Memory": "1g"}})"),
            "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.HostConfig.Memory of type int64");
  EXPECT_EQ(createError(R"({"HostConfig": {"Memory": 1.5}})"),
            "invalid JSON: json: cannot unmarshal number 1.5 into Go struct field CreateRequest.HostConfig.Memory of type int64");
  EXPECT_EQ(createError(R"({"Env": ["A=1", 2]})"),
            "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Env of type string");
  EXPECT_EQ(createError(R"({"Cmd": {"a": 1}})"),
            "invalid JSON: json: cannot unmarshal object into Go struct field CreateRequest.Cmd of type strslice.StrSlice");
  EXPECT_EQ(createError(R"({"HostConfig": {"RestartPolicy": {"Name": true}}})"),
            "invalid JSON: json: cannot unmarshal bool into Go struct field CreateRequest.HostConfig.RestartPolicy.Name "
            "of type string");
  EXPECT_EQ(createError(R"({"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": 8080}]}}})"),
            "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.HostConfig.PortBindings.HostPort "
            "of type string");
  EXPECT_EQ(createError(R"({"HostConfig": {"BlkioWeight": 70000}})"),
            "invalid JSON: json: cannot unmarshal number 70000 into Go struct field CreateRequest.HostConfig.BlkioWeight "
            "of type uint16");
  EXPECT_EQ(createError(R"({"HostConfig": {"Privileged": "yes"}})"),
            "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.HostConfig.Privileged of type bool");
  EXPECT_EQ(createError(R"({"Labels": {"a": 1}})"),
            "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Labels of type string");
  EXPECT_EQ(createError(R"({"NetworkingConfig": {"EndpointsConfig": {"n": {"Aliases": "a"}}}})"),
            "invalid JSON: json: cannot unmarshal string into Go struct field "
            "CreateRequest.NetworkingConfig.EndpointsConfig.Aliases of type []string");
  EXPECT_EQ(createError(R"({"HostConfig": {"Memory": 9223372036854775808}})"),
            "invalid JSON: json: cannot unmarshal number 9223372036854775808 into Go struct field "
            "CreateRequest.HostConfig.Memory of type int64");
  EXPECT_EQ(checkBodyTypes(json::parse(R"({"HostConfig": "x"})"), kContainerCreateBody).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BodySchema, UpdateAndExecBodies) {
  EXPECT_TRUE(checkBodyTypes(json::parse(R"({"Memory": 10485760, "RestartPolicy": {"Name": "always"}})"),
                             kContainerUpdateBody)
                  .ok());
  EXPECT_EQ(checkBodyTypes(json::parse(R"({"CpuShares": "lots"})"), kContainerUpdateBody).message(),
            "invalid JSON: json: cannot unmarshal string into Go struct field UpdateConfig.CpuShares of type int64");
  EXPECT_TRUE(checkBodyTypes(json::parse(R"({"Cmd": ["ls"], "Tty": true, "Env": ["A=1"]})"), kExecCreateBody).ok());
  // An exec's Cmd is a plain []string: dockerd refuses a string there.
  EXPECT_EQ(checkBodyTypes(json::parse(R"({"Cmd": "ls"})"), kExecCreateBody).message(),
            "invalid JSON: json: cannot unmarshal string into Go struct field ExecOptions.Cmd of type []string");
}

TEST(BodySchema, NetworkAndVolumeBodies) {
  EXPECT_TRUE(checkBodyTypes(json::parse(R"({"Name": "n", "Internal": true, "Labels": {"a": "b"},
      "IPAM": {"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1"}]}})"), kNetworkCreateBody).ok());
  EXPECT_EQ(checkBodyTypes(json::parse(R"({"Name": "n", "IPAM": {"Config": [{"Subnet": 10}]}})"), kNetworkCreateBody)
                .message(),
            "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.IPAM.Config.Subnet of type string");
  EXPECT_EQ(checkBodyTypes(json::parse(R"({"Container": "c", "Force": "yes"})"), kNetworkDisconnectBody).message(),
            "invalid JSON: json: cannot unmarshal string into Go struct field DisconnectOptions.Force of type bool");
  EXPECT_EQ(checkBodyTypes(json::parse(R"({"Container": "c", "EndpointConfig": {"Aliases": [1]}})"),
                           kNetworkConnectBody).message(),
            "invalid JSON: json: cannot unmarshal number into Go struct field ConnectOptions.EndpointConfig.Aliases "
            "of type string");
  EXPECT_EQ(checkBodyTypes(json::parse(R"({"Name": "v", "DriverOpts": {"size": 1}})"), kVolumeCreateBody).message(),
            "invalid JSON: json: cannot unmarshal number into Go struct field CreateOptions.DriverOpts of type string");
}

}  // namespace
}  // namespace berth::api::types
