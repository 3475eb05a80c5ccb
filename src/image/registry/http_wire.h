#pragma once
// What the daemon and its HTTP helper (http_helper.h) say to each other on
// the stream socket of one request.
//
//   daemon → helper   one 'Q' frame: the request (MessagePack)
//   helper → daemon   'D' frames: body pieces for the caller's sink, each
//                     starting with the response status (4 bytes, little endian)
//                     then one 'R' frame (the response, MessagePack) or one
//                     'E' frame (a status code and message)
//
// A frame is a type byte, a 4-byte little-endian length and that many bytes.
// The daemon stops a transfer by closing its end: the helper's next write
// fails and curl aborts.
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "image/registry/http_client.h"

namespace berth::registry::wire {

inline constexpr char kRequest = 'Q';
inline constexpr char kData = 'D';
inline constexpr char kResponse = 'R';
inline constexpr char kError = 'E';
// Larger than any body the helper sends in one piece (curl's buffer is
// 256 KiB) or collects (bodyLimit is a few MiB).
inline constexpr uint32_t kMaxFrame = 64u << 20;

struct Request {
  HttpRequest http;        // uploadFd: -1 here; the fd travels beside the socket
  std::string userAgent;
  bool hasUpload = false;  // an upload fd came with the socket
  bool stream = false;     // 2xx bodies go back as 'D' frames, for the caller's sink
  uint64_t bodyLimit = 0;
};

std::string encodeRequest(const Request& r);
absl::StatusOr<Request> decodeRequest(std::string_view payload);

std::string encodeResponse(const HttpResponse& r);
absl::StatusOr<HttpResponse> decodeResponse(std::string_view payload);

std::string encodeError(const absl::Status& st);
// The status the helper sent (never OK: an OK code comes back as Internal).
absl::Status decodeError(std::string_view payload);

std::string encodeData(long status, std::string_view data);
// The status and body piece of a 'D' payload.
absl::StatusOr<std::pair<long, std::string_view>> decodeData(std::string_view payload);

// Blocking frame I/O on a stream socket. writeFrame sends without SIGPIPE.
absl::Status writeFrame(int fd, char type, std::string_view payload);
// Reads one frame. `waitReadable` (may be null) is called before each read
// and returns an error to give up (the caller's cancellation).
absl::Status readFrame(int fd, char& type, std::string& payload,
                       const std::function<absl::Status()>& waitReadable = nullptr);

}  // namespace berth::registry::wire
