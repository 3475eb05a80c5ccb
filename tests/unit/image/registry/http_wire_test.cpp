#include "image/registry/http_wire.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "util/unique_fd.h"

namespace berth::registry::wire {
namespace {

TEST(HttpWire, RequestRoundTripKeepsEveryFieldAndBinaryBodies) {
  Request r;
  r.http.method = "PUT";
  r.http.url = "https://registry.example/v2/a/blobs/uploads/1?digest=sha256:00";
  r.http.headers = {"Content-Type: application/octet-stream", "X-Empty:"};
  r.http.body = std::string("\0\xff\xfe not utf-8 \x80", 15);
  r.http.uploadSize = 1234567890123;
  r.http.followRedirects = false;
  r.http.basicUser = "user";
  r.http.basicPassword = "p\xc3\xa4ss";
  r.http.caPem = "-----BEGIN CERTIFICATE-----\n";
  r.http.clientCertPem = "cert";
  r.http.clientKeyPem = "key";
  r.http.insecureSkipVerify = true;
  r.http.idleSeconds = 0;
  r.userAgent = "docker/28.2 berth/0.1";
  r.hasUpload = true;
  r.stream = true;
  r.bodyLimit = 4 << 20;

  absl::StatusOr<Request> back = decodeRequest(encodeRequest(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->http.method, "PUT");
  EXPECT_EQ(back->http.url, r.http.url);
  EXPECT_EQ(back->http.headers, r.http.headers);
  EXPECT_EQ(back->http.body, r.http.body);
  EXPECT_EQ(back->http.uploadFd, -1);
  EXPECT_EQ(back->http.uploadSize, 1234567890123);
  EXPECT_FALSE(back->http.followRedirects);
  EXPECT_EQ(back->http.basicUser, "user");
  EXPECT_EQ(back->http.basicPassword, "p\xc3\xa4ss");
  EXPECT_EQ(back->http.caPem, r.http.caPem);
  EXPECT_EQ(back->http.clientCertPem, "cert");
  EXPECT_EQ(back->http.clientKeyPem, "key");
  EXPECT_TRUE(back->http.insecureSkipVerify);
  EXPECT_EQ(back->http.idleSeconds, 0);
  EXPECT_EQ(back->userAgent, r.userAgent);
  EXPECT_TRUE(back->hasUpload);
  EXPECT_TRUE(back->stream);
  EXPECT_EQ(back->bodyLimit, uint64_t(4 << 20));
}

TEST(HttpWire, ResponseErrorAndDataRoundTrip) {
  HttpResponse r;
  r.status = 401;
  r.url = "https://registry.example/v2/";
  r.headers = {{"content-type", "application/json"}, {"docker-distribution-api-version", "registry/2.0"}};
  r.wwwAuthenticate = {"Bearer realm=\"https://auth/token\"", "Basic realm=\"r\""};
  r.body = std::string("{\"errors\":[]}\0", 14);
  absl::StatusOr<HttpResponse> back = decodeResponse(encodeResponse(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->status, 401);
  EXPECT_EQ(back->url, r.url);
  EXPECT_EQ(back->headers, r.headers);
  EXPECT_EQ(back->wwwAuthenticate, r.wwwAuthenticate);
  EXPECT_EQ(back->body, r.body);

  absl::Status err = decodeError(encodeError(absl::UnavailableError("Get \"http://x/\": connection refused")));
  EXPECT_EQ(err.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(err.message(), "Get \"http://x/\": connection refused");

  std::string encoded = encodeData(206, std::string_view("\0abc", 4));
  auto data = decodeData(encoded);  // views into `encoded`
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->first, 206);
  EXPECT_EQ(data->second, std::string_view("\0abc", 4));
}

TEST(HttpWire, MalformedPayloadsAreErrors) {
  EXPECT_EQ(decodeRequest("not msgpack").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decodeRequest("").status().code(), absl::StatusCode::kInvalidArgument);
  std::string truncated = encodeRequest(Request{});
  truncated.resize(truncated.size() / 2);
  EXPECT_EQ(decodeRequest(truncated).status().code(), absl::StatusCode::kInvalidArgument);
  // A map without the fields.
  EXPECT_EQ(decodeResponse(std::string("\x80", 1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decodeData("abc").status().code(), absl::StatusCode::kInvalidArgument);
  // An OK or out-of-range code never comes back as success.
  EXPECT_EQ(decodeError(encodeError(absl::Status(absl::StatusCode(0), ""))).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(decodeError("junk").code(), absl::StatusCode::kInvalidArgument);
  // Fields of the wrong type fall back instead of throwing (found by fuzz_http_wire).
  std::vector<uint8_t> wrong = nlohmann::json::to_msgpack(nlohmann::json{{"code", "gone"}, {"message", 7}});
  absl::Status st = decodeError(std::string(wrong.begin(), wrong.end()));
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(st.message(), "the HTTP helper failed");
}

TEST(HttpWire, FramesOverASocket) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  std::string big(3 << 20, 'x');  // more than the socket buffer: written while read
  std::thread writer([&] {
    EXPECT_TRUE(writeFrame(a.get(), kData, big).ok());
    EXPECT_TRUE(writeFrame(a.get(), kResponse, "").ok());
  });
  char type = 0;
  std::string payload;
  ASSERT_TRUE(readFrame(b.get(), type, payload).ok());
  EXPECT_EQ(type, kData);
  EXPECT_EQ(payload, big);
  ASSERT_TRUE(readFrame(b.get(), type, payload).ok());
  EXPECT_EQ(type, kResponse);
  EXPECT_EQ(payload, "");
  writer.join();

  // A length beyond the limit is refused before anything is allocated.
  std::string head = "D\xff\xff\xff\xff";
  ASSERT_EQ(write(a.get(), head.data(), head.size()), 5);
  EXPECT_EQ(readFrame(b.get(), type, payload).code(), absl::StatusCode::kInvalidArgument);

  // The caller's wait can give up; a closed peer is Unavailable.
  auto cancelled = [] { return absl::CancelledError("context canceled"); };
  EXPECT_EQ(readFrame(b.get(), type, payload, cancelled).code(), absl::StatusCode::kCancelled);
  a.reset();
  EXPECT_EQ(readFrame(b.get(), type, payload).code(), absl::StatusCode::kUnavailable);
  // Writing to a closed peer fails without SIGPIPE.
  EXPECT_FALSE(writeFrame(b.get(), kRequest, "x").ok());
}

}  // namespace
}  // namespace berth::registry::wire
