// The streaming WebSocket against a small server that plays the API
// server's part: which subprotocols are offered, and that a stream works
// whichever of them the server picks (v5 on Kubernetes 1.30 and later; the
// test cluster's 1.20 picks v4).
#include "runtime/kube/pod_stream.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace berth::runtime::kube {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ws = boost::beast::websocket;
using tcp = net::ip::tcp;

// Accepts one upgrade choosing `pick`, sends stdout and a Success status,
// and closes; returns what the client offered and the target it asked for.
struct FakeApiServer {
  net::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::string offered, target;
  std::thread thread;

  explicit FakeApiServer(std::string pick) {
    thread = std::thread([this, pick] {
      tcp::socket s = acceptor.accept();
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req);
      offered = std::string(req[http::field::sec_websocket_protocol]);
      target = std::string(req.target());
      ws::stream<tcp::socket> w(std::move(s));
      w.set_option(ws::stream_base::decorator(
          [&](ws::response_type& r) { r.set(http::field::sec_websocket_protocol, pick); }));
      w.accept(req);
      w.binary(true);
      w.write(net::buffer(std::string("\x01out\n")));
      w.write(net::buffer(std::string("\x03{\"metadata\":{},\"status\":\"Success\"}")));
      w.close(ws::close_code::normal);
    });
  }
  ~FakeApiServer() { thread.join(); }
  std::string server() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()); }
};

void runsWith(const std::string& pick) {
  FakeApiServer api(pick);
  KubeConfig config;
  config.server = api.server();
  config.nameSpace = "ci";
  absl::StatusOr<std::unique_ptr<KubeClient>> client = KubeClient::create(config, "berth/test");
  ASSERT_TRUE(client.ok()) << client.status();
  StreamRequest req;
  req.pod = "p";
  req.container = "main";
  req.command = {"echo", "out"};
  std::string out;
  absl::StatusOr<int> rc = execInPod(**client, req, [&](int channel, std::string_view data) {
    if (channel == 1) out.append(data);
  });
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(api.offered, "v5.channel.k8s.io, v4.channel.k8s.io");
  EXPECT_TRUE(api.target.starts_with("/api/v1/namespaces/ci/pods/p/exec?")) << api.target;
}

TEST(PodStream, OffersV5ThenV4AndRunsWithEither) {
  runsWith("v5.channel.k8s.io");
  runsWith("v4.channel.k8s.io");
}

TEST(PodStream, PortForwardOffersV4Only) {
  StreamRequest req;
  req.pod = "p";
  req.forwardPort = 8080;
  EXPECT_EQ(offeredProtocols(req), "v4.channel.k8s.io");
}

}  // namespace
}  // namespace berth::runtime::kube
