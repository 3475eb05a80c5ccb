// Fuzzes the embedded DNS resolver's codec with what a container could send:
// parsing must never read out of bounds, and every reply built from an
// accepted query must carry that query's id and question back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "network/dns_message.h"

using namespace berth::network;

namespace {

// A reply parses as a query once QR is cleared: that checks its header and
// question without a second parser.
void checkReply(const dns::Query& q, std::string reply, bool questionOnly) {
  if (reply.size() < dns::kHeaderSize || (static_cast<uint8_t>(reply[2]) & 0x80) == 0) std::abort();
  reply[2] = static_cast<char>(reply[2] & 0x7f);
  auto back = dns::parseQuery(reply);
  if (!back.ok()) std::abort();
  if (back->id != q.id || back->name != q.name || back->type != q.type || back->qclass != q.qclass) std::abort();
  if (questionOnly && back->questionEnd != reply.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view packet(reinterpret_cast<const char*>(data), size);
  std::string err = dns::formErr(packet);
  if (!err.empty() && err.size() != dns::kHeaderSize) std::abort();
  auto q = dns::parseQuery(packet);
  if (!q.ok()) return 0;
  if (q->questionEnd > size || q->raw != packet) std::abort();

  std::vector<uint32_t> ips;
  for (size_t i = 0; i + 4 <= size && ips.size() < 64; i += 4) {
    ips.push_back(static_cast<uint32_t>(data[i]) << 24 | data[i + 1] << 16 | data[i + 2] << 8 | data[i + 3]);
  }
  std::string a = dns::answerA(*q, ips, 600);
  checkReply(*q, a, false);
  std::string cut = dns::truncateTo(a, dns::kMaxUdpPayload);
  if (cut.size() > dns::kMaxUdpPayload) std::abort();
  checkReply(*q, dns::answerPtr(*q, q->name, 600), false);
  for (int rcode = 0; rcode <= 5; ++rcode) checkReply(*q, dns::answerRcode(*q, rcode), true);
  if (dns::errorReply(packet, dns::kRcodeNotImp).size() != dns::kHeaderSize) std::abort();
  (void)dns::reverseName(q->name);
  return 0;
}
