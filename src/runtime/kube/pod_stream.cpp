#include "runtime/kube/pod_stream.h"

#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
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

// One stream's connection and its queue of outgoing frames; the io_context
// runs only inside run(), so writes posted before it wait there.
template <class Stream>
class PodStreamImpl final : public PodStream {
 public:
  template <class... Args>
  explicit PodStreamImpl(std::unique_ptr<net::io_context> io, Args&&... args)
      : io_(std::move(io)), ws_(std::forward<Args>(args)...) {}

  ws::stream<Stream>& socket() { return ws_; }
  std::shared_ptr<void> keepAlive;  // what the stream refers to (its TLS context)

  absl::Status handshake(const KubeClient& client, const Url& u, const StreamRequest& req) {
    std::string token = client.bearerToken();
    ws_.set_option(ws::stream_base::decorator([&](ws::request_type& r) {
      r.set(beast::http::field::sec_websocket_protocol, offeredProtocols(req));
      if (!token.empty()) r.set(beast::http::field::authorization, "Bearer " + token);
    }));
    ws::response_type res;
    boost::system::error_code ec;
    ws_.handshake(res, u.hostHeader, streamTarget(client, req), ec);
    if (ec) {
      if (res.result_int() >= 300) return statusFromResponse(res.result_int(), res.body());
      return absl::UnavailableError(strCat("kubernetes: stream to pod ", req.pod, ": ", ec.message()));
    }
    ws_.binary(true);
    pod_ = req.pod;
    forwarding_ = req.forwardPort != 0;
    return absl::OkStatus();
  }

  absl::StatusOr<int> run(const OutputHandler& onOutput) override {
    onOutput_ = &onOutput;
    readNext();
    io_->run();
    if (cancelled_) return absl::CancelledError("stream cancelled");
    if (forwarding_) {
      if (status_.empty()) return 0;
      return absl::UnavailableError(strCat("kubernetes: port forward to pod ", pod_, ": ", status_));
    }
    if (status_.empty()) {
      return absl::UnavailableError(strCat("kubernetes: stream to pod ", pod_, " ended without a status"));
    }
    return exitCodeFromStatus(status_);
  }

  void write(std::string_view data) override { send(0, data); }
  void resize(unsigned rows, unsigned cols) override {
    send(4, nlohmann::json{{"Width", cols}, {"Height", rows}}.dump());
  }
  void finish() override {
    net::post(*io_, [this] {
      finishing_ = true;
      if (!writing_) closeNow();
    });
  }
  void cancel() override {
    close();
    net::post(*io_, [this] {
      cancelled_ = true;
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws_).shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(ws_).close(ignored);
    });
  }

 private:
  // Blocks while kMaxQueued bytes wait to be sent (a docker cp of a large
  // file must not pile up in memory), until the stream closes.
  void send(char channel, std::string_view data) {
    std::string frame(1, channel);
    frame += data;
    {
      std::unique_lock lock(queueMu_);
      queueCv_.wait(lock, [this] { return queued_ < kMaxQueued || closed_; });
      if (closed_) return;
      queued_ += frame.size();
    }
    net::post(*io_, [this, frame = std::move(frame)]() mutable {
      if (finishing_ || ended_) {
        sent(frame.size());
        return;
      }
      queue_.push_back(std::move(frame));
      if (!writing_) writeNext();
    });
  }
  void sent(size_t bytes) {
    {
      std::lock_guard lock(queueMu_);
      queued_ -= bytes;
    }
    queueCv_.notify_all();
  }
  void close() {
    {
      std::lock_guard lock(queueMu_);
      closed_ = true;
    }
    queueCv_.notify_all();
  }
  void writeNext() {
    if (queue_.empty()) {
      writing_ = false;
      if (finishing_) closeNow();
      return;
    }
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()), [this](boost::system::error_code ec, size_t) {
      sent(queue_.front().size());
      queue_.pop_front();
      if (ec) {
        for (const std::string& f : queue_) sent(f.size());
        queue_.clear();
        writing_ = false;
        close();
        return;
      }
      writeNext();
    });
  }
  void closeNow() {
    if (closing_ || ended_) return;
    closing_ = true;
    ws_.async_close(ws::close_code::normal, [](boost::system::error_code) {});
  }
  void readNext() {
    ws_.async_read(buf_, [this](boost::system::error_code ec, size_t) {
      if (ec) {  // closed by the server after the status, by us, or broken
        ended_ = true;
        close();
        return;
      }
      std::string_view msg(static_cast<const char*>(buf_.data().data()), buf_.size());
      if (!msg.empty()) {
        int channel = static_cast<unsigned char>(msg[0]);
        msg.remove_prefix(1);
        if (forwarding_) {
          // Each channel opens with the port; then data (0) or an error (1).
          if (channel < 2 && portBytes_[channel] < 2) {
            size_t skip = std::min(msg.size(), 2 - portBytes_[channel]);
            portBytes_[channel] += skip;
            msg.remove_prefix(skip);
          }
          if (channel == 0 && !msg.empty()) (*onOutput_)(1, msg);
          if (channel == 1) status_ += msg;
        } else if (channel == 3) {
          status_ += msg;
        } else if ((channel == 1 || channel == 2) && !msg.empty()) {
          (*onOutput_)(channel, msg);
        }
      }
      buf_.consume(buf_.size());
      readNext();
    });
  }

  std::unique_ptr<net::io_context> io_;
  ws::stream<Stream> ws_;
  std::string pod_;
  const OutputHandler* onOutput_ = nullptr;
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  bool writing_ = false, finishing_ = false, closing_ = false, ended_ = false;
  std::string status_;
  bool cancelled_ = false;
  bool forwarding_ = false;
  size_t portBytes_[2] = {0, 0};
  static constexpr size_t kMaxQueued = 4 << 20;
  std::mutex queueMu_;
  std::condition_variable queueCv_;
  size_t queued_ = 0;
  bool closed_ = false;
};

absl::StatusOr<std::unique_ptr<PodStream>> openTls(const KubeClient& client, const Url& u, const StreamRequest& req,
                                                   std::unique_ptr<net::io_context> io, tcp::socket sock) {
  const KubeConfig& c = client.config();
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  boost::system::error_code ec;
  if (c.insecureSkipVerify) {
    ctx->set_verify_mode(net::ssl::verify_none);
  } else {
    ctx->set_verify_mode(net::ssl::verify_peer);
    if (c.caPem.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->add_certificate_authority(net::buffer(c.caPem), ec);
    }
    if (ec) return absl::InvalidArgumentError(strCat("kubernetes: certificate authority: ", ec.message()));
  }
  if (!c.clientCertPem.empty()) {
    ctx->use_certificate_chain(net::buffer(c.clientCertPem), ec);
    if (!ec) ctx->use_private_key(net::buffer(c.clientKeyPem), net::ssl::context::pem, ec);
    if (ec) return absl::InvalidArgumentError(strCat("kubernetes: client certificate: ", ec.message()));
  }
  using Impl = PodStreamImpl<beast::ssl_stream<tcp::socket>>;
  auto stream = std::make_unique<Impl>(std::move(io), std::move(sock), *ctx);
  stream->keepAlive = ctx;
  SSL* ssl = stream->socket().next_layer().native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  boost::system::error_code addrEc;
  net::ip::make_address(u.host, addrEc);
  if (!addrEc) {
    X509_VERIFY_PARAM_set1_ip_asc(param, u.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, u.host.c_str(), 0);
    SSL_set_tlsext_host_name(ssl, u.host.c_str());
  }
  stream->socket().next_layer().handshake(net::ssl::stream_base::client, ec);
  if (ec) return absl::UnavailableError(strCat("kubernetes: TLS with ", u.hostHeader, ": ", ec.message()));
  BERTH_RETURN_IF_ERROR(stream->handshake(client, u, req));
  return std::unique_ptr<PodStream>(std::move(stream));
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

std::string streamTarget(const KubeClient& client, const StreamRequest& req) {
  if (req.forwardPort != 0) return strCat(client.corePath("pods", req.pod), "/portforward?ports=", req.forwardPort);
  std::string path = strCat(client.corePath("pods", req.pod), req.command.empty() ? "/attach" : "/exec",
                            "?container=", queryEscape(req.container), "&stdin=", req.stdin ? "1" : "0",
                            "&stdout=", req.stdout ? "1" : "0", "&stderr=", req.stderr && !req.tty ? "1" : "0");
  if (req.tty) path += "&tty=1";
  for (const std::string& c : req.command) path = strCat(path, "&command=", queryEscape(c));
  return path;
}

std::string offeredProtocols(const StreamRequest& req) {
  // pods/portforward's WebSocket speaks the v4 channel framing only.
  return req.forwardPort != 0 ? "v4.channel.k8s.io" : "v5.channel.k8s.io, v4.channel.k8s.io";
}

absl::StatusOr<std::unique_ptr<PodStream>> PodStream::open(const KubeClient& client, const StreamRequest& req) {
  BERTH_ASSIGN_OR_RETURN(Url u, parseServer(client.config().server));
  auto io = std::make_unique<net::io_context>();
  tcp::socket sock(*io);
  BERTH_RETURN_IF_ERROR(connectTcp(*io, sock, u));
  if (u.tls) return openTls(client, u, req, std::move(io), std::move(sock));
  auto stream = std::make_unique<PodStreamImpl<tcp::socket>>(std::move(io), std::move(sock));
  BERTH_RETURN_IF_ERROR(stream->handshake(client, u, req));
  return std::unique_ptr<PodStream>(std::move(stream));
}

absl::StatusOr<int> execInPod(const KubeClient& client, const StreamRequest& req, const PodStream::OutputHandler& onOutput,
                              const std::atomic<bool>* cancel) {
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<PodStream> stream, PodStream::open(client, req));
  // A watcher cancels the stream when asked to.
  std::atomic<bool> done{false};
  std::thread watcher;
  if (cancel != nullptr) {
    watcher = std::thread([&] {
      while (!done && !cancel->load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!done) stream->cancel();
    });
  }
  absl::StatusOr<int> result = stream->run(onOutput);
  done = true;
  if (watcher.joinable()) watcher.join();
  return result;
}

}  // namespace berth::runtime::kube
