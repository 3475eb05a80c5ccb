#include "image/registry/http_wire.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "util/status.h"
#include "util/strings.h"

namespace berth::registry::wire {
namespace {

using json = nlohmann::json;

json binary(const std::string& s) { return json::binary(std::vector<uint8_t>(s.begin(), s.end())); }

std::string fromBinary(const json& j) {
  const auto& b = j.get_binary();
  return std::string(b.begin(), b.end());
}

std::string pack(const json& j) {
  std::vector<uint8_t> out = json::to_msgpack(j);
  return std::string(out.begin(), out.end());
}

absl::StatusOr<json> unpack(std::string_view payload, std::string_view what) {
  json j = json::from_msgpack(payload.begin(), payload.end(), true, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError(strCat("malformed ", what, " frame"));
  return j;
}

void putU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

uint32_t getU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(p[i])) << (8 * i);
  return v;
}

absl::Status readExactly(int fd, char* buf, size_t n, const std::function<absl::Status()>& waitReadable) {
  while (n > 0) {
    if (waitReadable) BERTH_RETURN_IF_ERROR(waitReadable());
    ssize_t got = ::read(fd, buf, n);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) return errnoStatus(errno, "reading from the HTTP helper");
    if (got == 0) return absl::UnavailableError("the HTTP helper went away");
    buf += got;
    n -= size_t(got);
  }
  return absl::OkStatus();
}

}  // namespace

std::string encodeRequest(const Request& r) {
  const HttpRequest& h = r.http;
  json j = {{"method", h.method},
            {"url", h.url},
            {"headers", h.headers},
            {"body", binary(h.body)},
            {"uploadSize", h.uploadSize},
            {"followRedirects", h.followRedirects},
            {"basicUser", h.basicUser},
            {"basicPassword", h.basicPassword},
            {"caPem", h.caPem},
            {"clientCertPem", h.clientCertPem},
            {"clientKeyPem", h.clientKeyPem},
            {"insecureSkipVerify", h.insecureSkipVerify},
            {"idleSeconds", h.idleSeconds},
            {"userAgent", r.userAgent},
            {"hasUpload", r.hasUpload},
            {"stream", r.stream},
            {"bodyLimit", r.bodyLimit}};
  return pack(j);
}

absl::StatusOr<Request> decodeRequest(std::string_view payload) {
  BERTH_ASSIGN_OR_RETURN(json j, unpack(payload, "request"));
  Request r;
  try {
    HttpRequest& h = r.http;
    h.method = j.at("method").get<std::string>();
    h.url = j.at("url").get<std::string>();
    h.headers = j.at("headers").get<std::vector<std::string>>();
    h.body = fromBinary(j.at("body"));
    h.uploadSize = j.at("uploadSize").get<int64_t>();
    h.followRedirects = j.at("followRedirects").get<bool>();
    h.basicUser = j.at("basicUser").get<std::string>();
    h.basicPassword = j.at("basicPassword").get<std::string>();
    h.caPem = j.at("caPem").get<std::string>();
    h.clientCertPem = j.at("clientCertPem").get<std::string>();
    h.clientKeyPem = j.at("clientKeyPem").get<std::string>();
    h.insecureSkipVerify = j.at("insecureSkipVerify").get<bool>();
    h.idleSeconds = j.at("idleSeconds").get<long>();
    r.userAgent = j.at("userAgent").get<std::string>();
    r.hasUpload = j.at("hasUpload").get<bool>();
    r.stream = j.at("stream").get<bool>();
    r.bodyLimit = j.at("bodyLimit").get<uint64_t>();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(strCat("malformed request frame: ", e.what()));
  }
  return r;
}

std::string encodeResponse(const HttpResponse& r) {
  json j = {{"status", r.status},
            {"url", r.url},
            {"headers", r.headers},
            {"wwwAuthenticate", r.wwwAuthenticate},
            {"body", binary(r.body)}};
  return pack(j);
}

absl::StatusOr<HttpResponse> decodeResponse(std::string_view payload) {
  BERTH_ASSIGN_OR_RETURN(json j, unpack(payload, "response"));
  HttpResponse r;
  try {
    r.status = j.at("status").get<long>();
    r.url = j.at("url").get<std::string>();
    r.headers = j.at("headers").get<std::map<std::string, std::string>>();
    r.wwwAuthenticate = j.at("wwwAuthenticate").get<std::vector<std::string>>();
    r.body = fromBinary(j.at("body"));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(strCat("malformed response frame: ", e.what()));
  }
  return r;
}

std::string encodeError(const absl::Status& st) {
  return pack(json{{"code", int(st.code())}, {"message", std::string(st.message())}});
}

absl::Status decodeError(std::string_view payload) {
  absl::StatusOr<json> j = unpack(payload, "error");
  if (!j.ok()) return j.status();
  // The helper is untrusted: a field of the wrong type falls back rather
  // than throwing (json::value throws on a type mismatch).
  int64_t code = int(absl::StatusCode::kInternal);
  if (auto it = j->find("code"); it != j->end() && it->is_number_integer()) code = it->get<int64_t>();
  std::string message = "the HTTP helper failed";
  if (auto it = j->find("message"); it != j->end() && it->is_string()) message = it->get<std::string>();
  if (code <= 0 || code > int(absl::StatusCode::kUnauthenticated)) code = int(absl::StatusCode::kInternal);
  return absl::Status(absl::StatusCode(code), message);
}

std::string encodeData(long status, std::string_view data) {
  std::string out;
  out.reserve(4 + data.size());
  putU32(out, uint32_t(status));
  out.append(data);
  return out;
}

absl::StatusOr<std::pair<long, std::string_view>> decodeData(std::string_view payload) {
  if (payload.size() < 4) return absl::InvalidArgumentError("malformed data frame");
  return std::pair<long, std::string_view>(long(getU32(payload.data())), payload.substr(4));
}

absl::Status writeFrame(int fd, char type, std::string_view payload) {
  if (payload.size() > kMaxFrame) return absl::InvalidArgumentError("frame too large for the HTTP helper");
  std::string head(1, type);
  putU32(head, uint32_t(payload.size()));
  iovec iov[2] = {{head.data(), head.size()}, {const_cast<char*>(payload.data()), payload.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  size_t left = head.size() + payload.size();
  while (left > 0) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoStatus(errno, "writing to the HTTP helper's peer");
    left -= size_t(n);
    // Skip what went out, across the two pieces.
    while (n > 0 && msg.msg_iovlen > 0) {
      size_t step = std::min<size_t>(size_t(n), msg.msg_iov[0].iov_len);
      msg.msg_iov[0].iov_base = static_cast<char*>(msg.msg_iov[0].iov_base) + step;
      msg.msg_iov[0].iov_len -= step;
      n -= ssize_t(step);
      if (msg.msg_iov[0].iov_len == 0) {
        ++msg.msg_iov;
        --msg.msg_iovlen;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status readFrame(int fd, char& type, std::string& payload, const std::function<absl::Status()>& waitReadable) {
  char head[5];
  BERTH_RETURN_IF_ERROR(readExactly(fd, head, sizeof head, waitReadable));
  uint32_t len = getU32(head + 1);
  if (len > kMaxFrame) return absl::InvalidArgumentError("oversized frame from the HTTP helper");
  type = head[0];
  payload.resize(len);
  return readExactly(fd, payload.data(), len, waitReadable);
}

}  // namespace berth::registry::wire
