// Fuzzes what the daemon decodes from its HTTP helper (a process that
// handles registries' bytes, so treated as untrusted): requests, responses,
// errors and data frames, and frame reading over a socket. The first byte
// picks the decoder.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "image/registry/http_wire.h"

using namespace berth::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto r = wire::decodeRequest(body);
      if (r.ok()) (void)wire::decodeRequest(wire::encodeRequest(*r));
      break;
    }
    case 1: {
      auto r = wire::decodeResponse(body);
      if (r.ok()) (void)wire::decodeResponse(wire::encodeResponse(*r));
      break;
    }
    case 2:
      (void)wire::decodeError(body);
      break;
    case 3:
      (void)wire::decodeData(body);
      break;
    default: {
      // Frames as the daemon reads them; the socket buffer holds small inputs whole.
      if (body.size() > 100000) break;
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) break;
      if (write(sv[0], body.data(), body.size()) == ssize_t(body.size())) {
        close(sv[0]);
        char type;
        std::string payload;
        while (wire::readFrame(sv[1], type, payload).ok()) {
        }
      } else {
        close(sv[0]);
      }
      close(sv[1]);
    }
  }
  return 0;
}
