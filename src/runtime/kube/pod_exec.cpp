#include "runtime/kube/pod_exec.h"

#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <thread>

#include "util/host_sockets.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::runtime::kube {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ws = boost::beast::websocket;
using tcp = net::ip::tcp;

struct Url {
  bool tls = true;
  std::string host, port, hostHeader;
};

absl::StatusOr<Url> parseServer(const std::string& server) {
  Url u;
  std::string_view rest = server;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    u.tls = false;
    rest.remove_prefix(7);
  } else {
    return absl::InvalidArgumentError(strCat("kubernetes server is not an http(s) URL: ", server));
  }
  rest = rest.substr(0, rest.find('/'));
  u.hostHeader = std::string(rest);
  if (rest.starts_with('[')) {  // [v6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError(strCat("bad server address ", server));
    u.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    u.port = rest.starts_with(':') ? std::string(rest.substr(1)) : "";
  } else {
    auto [h, p] = splitOnce(rest, ':');
    u.host = std::string(h);
    u.port = std::string(p);
  }
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  return u;
}

// Connects a TCP socket (through the rootless parent when it owns the host's network).
absl::Status connectTcp(net::io_context& io, tcp::socket& sock, const Url& u) {
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(u.host, u.port, ec);
  if (ec) return absl::UnavailableError(strCat("kubernetes: resolve ", u.host, ": ", ec.message()));
  for (const auto& e : endpoints) {
    if (hostSocketsFromParent()) {
      absl::StatusOr<UniqueFd> fd = hostSocket(e.endpoint().protocol().family(), SOCK_STREAM, 0);
      if (!fd.ok()) return fd.status();
      sock.assign(e.endpoint().protocol(), fd->release(), ec);
      if (!ec) sock.connect(e.endpoint(), ec);
    } else {
      sock.connect(e.endpoint(), ec);
    }
    if (!ec) return absl::OkStatus();
    sock.close();
  }
  return absl::UnavailableError(strCat("kubernetes: connect ", u.hostHeader, ": ", ec.message()));
}

std::string execTarget(const KubeClient& client, const ExecRequest& req) {
  std::string path = strCat(client.corePath("pods", req.pod), "/exec?container=", queryEscape(req.container),
                            "&stdout=1&stderr=", req.tty ? "0" : "1", "&stdin=", req.input.empty() ? "0" : "1");
  if (req.tty) path += "&tty=1";
  for (const std::string& c : req.command) path = strCat(path, "&command=", queryEscape(c));
  return path;
}

template <class Stream>
absl::StatusOr<int> converse(ws::stream<Stream>& wsock, const KubeClient& client, const Url& u, const ExecRequest& req,
                             const std::function<void(int, std::string_view)>& onOutput) {
  std::string token = client.bearerToken();
  wsock.set_option(ws::stream_base::decorator([&](ws::request_type& r) {
    r.set(beast::http::field::sec_websocket_protocol, "v4.channel.k8s.io");
    if (!token.empty()) r.set(beast::http::field::authorization, "Bearer " + token);
  }));
  ws::response_type res;
  boost::system::error_code ec;
  wsock.handshake(res, u.hostHeader, execTarget(client, req), ec);
  if (ec) {
    if (res.result_int() >= 300) return statusFromResponse(res.result_int(), res.body());
    return absl::UnavailableError(strCat("kubernetes: exec in pod ", req.pod, ": ", ec.message()));
  }
  wsock.binary(true);
  if (!req.input.empty()) {
    std::string frame(1, '\0');
    frame += req.input;
    wsock.write(net::buffer(frame), ec);
    if (ec) return absl::UnavailableError(strCat("kubernetes: exec stdin: ", ec.message()));
  }
  std::string status;
  beast::flat_buffer buf;
  while (true) {
    buf.clear();
    wsock.read(buf, ec);
    if (ec) break;  // closed by the server after the status, or broken
    std::string_view msg(static_cast<const char*>(buf.data().data()), buf.size());
    if (msg.empty()) continue;
    int channel = static_cast<unsigned char>(msg[0]);
    msg.remove_prefix(1);
    if (channel == 3) {
      status += msg;
    } else if ((channel == 1 || channel == 2) && !msg.empty()) {
      onOutput(channel, msg);
    }
  }
  if (status.empty()) {
    return absl::UnavailableError(strCat("kubernetes: exec in pod ", req.pod, " ended without a status: ", ec.message()));
  }
  return exitCodeFromStatus(status);
}

}  // namespace

absl::StatusOr<int> exitCodeFromStatus(std::string_view statusJson) {
  nlohmann::json s = nlohmann::json::parse(statusJson, nullptr, false);
  if (!s.is_object()) return absl::UnavailableError("kubernetes: exec status is not JSON");
  if (s.value("status", "") == "Success") return 0;
  if (s.value("reason", "") == "NonZeroExitCode" && s.contains("details") && s["details"].contains("causes")) {
    for (const nlohmann::json& c : s["details"]["causes"]) {
      int code = 0;
      if (c.value("reason", "") == "ExitCode" && parseInt(c.value("message", ""), code)) return code;
    }
  }
  return absl::FailedPreconditionError(strCat("kubernetes: exec: ", s.value("message", std::string(statusJson))));
}

absl::StatusOr<int> execInPod(const KubeClient& client, const ExecRequest& req,
                              const std::function<void(int, std::string_view)>& onOutput,
                              const std::atomic<bool>* cancel) {
  BERTH_ASSIGN_OR_RETURN(Url u, parseServer(client.config().server));
  net::io_context io;
  tcp::socket sock(io);
  BERTH_RETURN_IF_ERROR(connectTcp(io, sock, u));
  // A watcher ends a blocked read when asked to cancel: shutdown wakes it.
  struct Watcher {
    std::atomic<bool> done{false};
    std::thread thread;
    ~Watcher() {
      done = true;
      if (thread.joinable()) thread.join();
    }
  } watcher;
  if (cancel != nullptr) {
    int fd = sock.native_handle();
    watcher.thread = std::thread([fd, cancel, &watcher] {
      while (!watcher.done && !cancel->load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!watcher.done) ::shutdown(fd, SHUT_RDWR);
    });
  }
  absl::StatusOr<int> result;
  if (!u.tls) {
    ws::stream<tcp::socket> wsock(std::move(sock));
    result = converse(wsock, client, u, req, onOutput);
  } else {
    const KubeConfig& c = client.config();
    net::ssl::context ctx(net::ssl::context::tls_client);
    boost::system::error_code ec;
    if (c.insecureSkipVerify) {
      ctx.set_verify_mode(net::ssl::verify_none);
    } else {
      ctx.set_verify_mode(net::ssl::verify_peer);
      if (c.caPem.empty()) {
        ctx.set_default_verify_paths(ec);
      } else {
        ctx.add_certificate_authority(net::buffer(c.caPem), ec);
      }
      if (ec) return absl::InvalidArgumentError(strCat("kubernetes: certificate authority: ", ec.message()));
    }
    if (!c.clientCertPem.empty()) {
      ctx.use_certificate_chain(net::buffer(c.clientCertPem), ec);
      if (!ec) ctx.use_private_key(net::buffer(c.clientKeyPem), net::ssl::context::pem, ec);
      if (ec) return absl::InvalidArgumentError(strCat("kubernetes: client certificate: ", ec.message()));
    }
    ws::stream<beast::ssl_stream<tcp::socket>> wsock(std::move(sock), ctx);
    SSL* ssl = wsock.next_layer().native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    boost::system::error_code addrEc;
    net::ip::make_address(u.host, addrEc);
    if (!addrEc) {
      X509_VERIFY_PARAM_set1_ip_asc(param, u.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, u.host.c_str(), 0);
      SSL_set_tlsext_host_name(ssl, u.host.c_str());
    }
    wsock.next_layer().handshake(net::ssl::stream_base::client, ec);
    if (ec) {
      result = absl::UnavailableError(strCat("kubernetes: TLS with ", u.hostHeader, ": ", ec.message()));
    } else {
      result = converse(wsock, client, u, req, onOutput);
    }
  }
  if (cancel != nullptr && cancel->load()) return absl::CancelledError("exec cancelled");
  return result;
}

}  // namespace berth::runtime::kube
