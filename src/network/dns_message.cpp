#include "network/dns_message.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "util/strings.h"

namespace berth::network::dns {
namespace {

constexpr uint16_t kFlagQr = 0x8000;
constexpr uint16_t kFlagOpcode = 0x7800;
constexpr uint16_t kFlagTc = 0x0200;
constexpr uint16_t kFlagRd = 0x0100;
constexpr uint16_t kFlagRa = 0x0080;

constexpr size_t kMaxNameWire = 255;  // length bytes and the root included
constexpr size_t kMaxLabel = 63;
// Strictly backward pointers cannot loop; the hop bound only caps the work a
// long chain of them costs.
constexpr int kMaxPointerHops = 16;
constexpr size_t kMaxMessage = 65535;

uint16_t get16(std::string_view p, size_t off) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[off]) << 8 | static_cast<uint8_t>(p[off + 1]));
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

void set16(std::string& msg, size_t off, uint16_t v) {
  msg[off] = static_cast<char>(v >> 8);
  msg[off + 1] = static_cast<char>(v & 0xff);
}

// Walks the (possibly compressed) name at `pos`, calling onLabel for each
// label, and returns the offset just past the name where it is written (past
// the first pointer when there is one).
template <class OnLabel>
absl::StatusOr<size_t> walkName(std::string_view p, size_t pos, OnLabel&& onLabel) {
  size_t end = 0;
  bool jumped = false;
  size_t wire = 0;
  int hops = 0;
  size_t segmentStart = pos;  // pointers must land before this
  for (;;) {
    if (pos >= p.size()) return absl::InvalidArgumentError("dns: name runs past the end of the packet");
    auto len = static_cast<uint8_t>(p[pos]);
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= p.size()) return absl::InvalidArgumentError("dns: truncated compression pointer");
      size_t target = static_cast<size_t>(len & 0x3F) << 8 | static_cast<uint8_t>(p[pos + 1]);
      if (!jumped) {
        end = pos + 2;
        jumped = true;
      }
      // Names never live in the header, and a pointer that does not go
      // strictly backwards could loop.
      if (target < kHeaderSize || target >= segmentStart) {
        return absl::InvalidArgumentError("dns: bad compression pointer");
      }
      if (++hops > kMaxPointerHops) return absl::InvalidArgumentError("dns: too many compression pointers");
      pos = segmentStart = target;
      continue;
    }
    if ((len & 0xC0) != 0) return absl::InvalidArgumentError("dns: unsupported label type");
    if (len == 0) {
      if (wire + 1 > kMaxNameWire) return absl::InvalidArgumentError("dns: name longer than 255 bytes");
      return jumped ? end : pos + 1;
    }
    // len < 64 here: the two top bits are clear.
    if (pos + 1 + len > p.size()) return absl::InvalidArgumentError("dns: label runs past the end of the packet");
    wire += 1 + len;
    if (wire + 1 > kMaxNameWire) return absl::InvalidArgumentError("dns: name longer than 255 bytes");
    onLabel(p.substr(pos + 1, len));
    pos += 1 + len;
  }
}

// Presentation form of one label, lower-cased.
void appendLabel(std::string& out, std::string_view label) {
  for (char ch : label) {
    auto c = static_cast<uint8_t>(ch);
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (c == '.' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x21 || c > 0x7e) {
      out.push_back('\\');
      out.push_back(static_cast<char>('0' + c / 100));
      out.push_back(static_cast<char>('0' + c / 10 % 10));
      out.push_back(static_cast<char>('0' + c % 10));
    } else {
      out.push_back(ch);
    }
  }
}

// Wire form of a dotted name without escapes (container names have none).
std::optional<std::string> encodeName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  if (!name.empty()) {
    for (std::string_view label : split(name, '.')) {
      if (label.empty() || label.size() > kMaxLabel) return std::nullopt;
      out.push_back(static_cast<char>(label.size()));
      out.append(label);
    }
  }
  out.push_back('\0');
  if (out.size() > kMaxNameWire) return std::nullopt;
  return out;
}

// The first question, uncompressed and in the client's letter case: resolvers
// that randomise case (0x20 encoding) compare it with what they sent.
std::string questionWire(const Query& q) {
  std::string out;
  auto end = walkName(q.raw, kHeaderSize, [&](std::string_view label) {
    out.push_back(static_cast<char>(label.size()));
    out.append(label);
  });
  if (end.ok()) {
    out.push_back('\0');
  } else {
    // A Query not made by parseQuery: fall back to its (unescaped) name.
    out = encodeName(q.name).value_or(std::string(1, '\0'));
  }
  put16(out, q.type);
  put16(out, q.qclass);
  return out;
}

std::string replyHeader(uint16_t id, uint16_t queryFlags, int rcode, uint16_t qd, uint16_t an) {
  std::string out;
  out.reserve(kHeaderSize);
  put16(out, id);
  put16(out, static_cast<uint16_t>(kFlagQr | (queryFlags & (kFlagOpcode | kFlagRd)) | kFlagRa | (rcode & 0xF)));
  put16(out, qd);
  put16(out, an);
  put16(out, 0);
  put16(out, 0);
  return out;
}

bool parseOctet(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  unsigned v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v > 255) return false;
  out = v;
  return true;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Query> parseQuery(std::string_view packet) {
  if (packet.size() < kHeaderSize) return absl::InvalidArgumentError("dns: packet shorter than a header");
  Query q;
  q.id = get16(packet, 0);
  q.flags = get16(packet, 2);
  if (q.flags & kFlagQr) return absl::InvalidArgumentError("dns: not a query");
  if (q.flags & kFlagOpcode) return absl::InvalidArgumentError("dns: unsupported opcode");
  if (get16(packet, 4) == 0) return absl::InvalidArgumentError("dns: no question");
  bool first = true;
  auto end = walkName(packet, kHeaderSize, [&](std::string_view label) {
    if (!first) q.name.push_back('.');
    first = false;
    appendLabel(q.name, label);
  });
  if (!end.ok()) return end.status();
  if (*end + 4 > packet.size()) return absl::InvalidArgumentError("dns: truncated question");
  q.type = get16(packet, *end);
  q.qclass = get16(packet, *end + 2);
  q.questionEnd = *end + 4;
  q.raw = std::string(packet);
  return q;
}

std::string answerA(const Query& q, const std::vector<uint32_t>& ipv4HostOrder, uint32_t ttl) {
  constexpr size_t kRecordSize = 16;
  std::string question = questionWire(q);
  size_t room = (kMaxMessage - kHeaderSize - question.size()) / kRecordSize;
  size_t count = std::min(ipv4HostOrder.size(), room);
  std::string out = replyHeader(q.id, q.flags, kRcodeNoError, 1, static_cast<uint16_t>(count));
  out.reserve(kHeaderSize + question.size() + count * kRecordSize);
  out += question;
  for (size_t i = 0; i < count; ++i) {
    put16(out, 0xC000 | kHeaderSize);  // the question name
    put16(out, kTypeA);
    put16(out, kClassIN);
    put32(out, ttl);
    put16(out, 4);
    put32(out, ipv4HostOrder[i]);
  }
  return out;
}

std::string answerPtr(const Query& q, std::string_view target, uint32_t ttl) {
  std::optional<std::string> rdata = encodeName(target);
  if (!rdata) return answerRcode(q, kRcodeServFail);
  std::string out = replyHeader(q.id, q.flags, kRcodeNoError, 1, 1);
  out += questionWire(q);
  put16(out, 0xC000 | kHeaderSize);
  put16(out, kTypePTR);
  put16(out, kClassIN);
  put32(out, ttl);
  put16(out, static_cast<uint16_t>(rdata->size()));
  out += *rdata;
  return out;
}

std::string answerRcode(const Query& q, int rcode) {
  return replyHeader(q.id, q.flags, rcode, 1, 0) + questionWire(q);
}

std::string errorReply(std::string_view packet, int rcode) {
  if (packet.size() < kHeaderSize) return {};
  uint16_t flags = get16(packet, 2);
  if (flags & kFlagQr) return {};
  return replyHeader(get16(packet, 0), flags, rcode, 0, 0);
}

std::string formErr(std::string_view packet) { return errorReply(packet, kRcodeFormErr); }

std::string truncateTo(std::string reply, size_t maxSize) {
  if (reply.size() <= maxSize || reply.size() < kHeaderSize) return reply;
  std::string_view p = reply;
  auto skip = [](std::string_view) {};
  auto headerOnly = [&] {
    reply.resize(kHeaderSize);
    for (size_t off = 4; off < kHeaderSize; off += 2) set16(reply, off, 0);
    set16(reply, 2, get16(reply, 2) | kFlagTc);
    return reply;
  };
  size_t pos = kHeaderSize;
  for (uint16_t i = 0, qd = get16(p, 4); i < qd; ++i) {
    auto end = walkName(p, pos, skip);
    if (!end.ok() || *end + 4 > p.size()) return headerOnly();
    pos = *end + 4;
  }
  size_t questionEnd = pos;
  if (questionEnd > maxSize) return headerOnly();
  // Where each record (answer, authority, additional, in order) ends; keep the
  // longest prefix that fits.
  uint16_t records[3] = {get16(p, 6), get16(p, 8), get16(p, 10)};
  size_t keep = 0;
  size_t cut = questionEnd;
  bool ok = true;
  for (uint16_t section = 0; section < 3 && ok; ++section) {
    for (uint16_t i = 0; i < records[section] && ok; ++i) {
      auto end = walkName(p, pos, skip);
      ok = end.ok() && *end + 10 <= p.size();
      if (!ok) break;
      size_t rdEnd = *end + 10 + get16(p, *end + 8);
      ok = rdEnd <= maxSize;
      if (ok) {
        ++keep;
        cut = pos = rdEnd;
      }
    }
  }
  reply.resize(cut);
  for (size_t section = 0; section < 3; ++section) {
    auto kept = static_cast<uint16_t>(std::min<size_t>(records[section], keep));
    keep -= kept;
    set16(reply, 6 + 2 * section, kept);
  }
  set16(reply, 2, get16(reply, 2) | kFlagTc);
  return reply;
}

std::optional<uint32_t> reverseName(std::string_view name) {
  constexpr std::string_view kSuffix = ".in-addr.arpa";
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.size() <= kSuffix.size() || !equalsIgnoreCase(name.substr(name.size() - kSuffix.size()), kSuffix)) {
    return std::nullopt;
  }
  name.remove_suffix(kSuffix.size());
  std::vector<std::string_view> parts = split(name, '.');
  if (parts.size() != 4) return std::nullopt;
  std::array<uint32_t, 4> octets{};
  for (size_t i = 0; i < 4; ++i) {
    if (!parseOctet(parts[i], octets[i])) return std::nullopt;
  }
  return octets[3] << 24 | octets[2] << 16 | octets[1] << 8 | octets[0];
}

}  // namespace berth::network::dns
