#pragma once
// DNS wire format (RFC 1035) for the embedded resolver of user-defined
// networks: parse the first question of a query that came from a container
// (untrusted, so every read is bounds-checked) and build the few replies the
// resolver sends itself. Pure codec: no I/O, no state.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::network::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypePTR = 12;
inline constexpr uint16_t kTypeAAAA = 28;
inline constexpr uint16_t kClassIN = 1;

inline constexpr int kRcodeNoError = 0;
inline constexpr int kRcodeFormErr = 1;
inline constexpr int kRcodeServFail = 2;
inline constexpr int kRcodeNxDomain = 3;
inline constexpr int kRcodeNotImp = 4;
inline constexpr int kRcodeRefused = 5;

inline constexpr size_t kHeaderSize = 12;
// Largest reply to a client that did not advertise EDNS (RFC 1035 4.2.1).
inline constexpr size_t kMaxUdpPayload = 512;

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;
  // Lower-cased, no trailing dot, "" for the root. Bytes that are not
  // printable ASCII, and '.' or '\' inside a label, are escaped in
  // presentation form ("\\DDD", "\\.") so the name is unambiguous.
  std::string name;
  uint16_t type = 0;
  uint16_t qclass = 0;
  std::string raw;         // the whole packet as received
  size_t questionEnd = 0;  // offset just past the first question
};

// Parses a query. InvalidArgument for a response (QR set), an opcode other
// than QUERY, no question, a truncated packet, a label over 63 bytes, a name
// over 255 bytes, and compression pointers that do not point strictly
// backwards (so they cannot loop) or go further than a few hops. Only the first
// question is read; whatever follows it (more questions, EDNS) is ignored.
absl::StatusOr<Query> parseQuery(std::string_view packet);

// Replies echo the id, opcode and RD bit, set QR and RA, and carry the first
// question as the client wrote it (original letter case, uncompressed):
// qdcount 1, nscount and arcount 0.

// NOERROR with one A record per address (name given as the pointer 0xC00C to
// the question). An empty list gives NOERROR without answers. Addresses that
// would take the message past 65535 bytes are left out.
std::string answerA(const Query& q, const std::vector<uint32_t>& ipv4HostOrder, uint32_t ttl);
// NOERROR with one PTR record to `target` (a trailing dot is optional); a
// target that is not a valid domain name gives SERVFAIL instead.
std::string answerPtr(const Query& q, std::string_view target, uint32_t ttl);
// No answers, the given rcode (kRcode*; NOERROR means "the name exists but has
// no record of this type").
std::string answerRcode(const Query& q, int rcode);

// Header-only reply for a packet whose question could not be parsed: the id,
// opcode and RD of `packet`, QR, RA, `rcode`, all counts 0. Empty when the
// packet is shorter than a header or is itself a response (QR set), which must
// never be answered (two resolvers would bounce errors forever).
std::string errorReply(std::string_view packet, int rcode);
// errorReply(packet, kRcodeFormErr).
std::string formErr(std::string_view packet);

// A reply that is larger than `maxSize` loses trailing records until it fits
// (all of them, and the question too, if need be) and gets the TC bit; smaller
// replies are returned unchanged. For UDP clients, which retry over TCP on TC.
std::string truncateTo(std::string reply, size_t maxSize);

// "4.3.2.1.in-addr.arpa" (optionally with a trailing dot, any letter case) →
// 0x01020304. nullopt for anything else, including partial reverse names such
// as "2.1.in-addr.arpa" and octets with leading zeros.
std::optional<uint32_t> reverseName(std::string_view name);

}  // namespace berth::network::dns
