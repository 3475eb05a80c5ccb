#include "network/dns_message.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace berth::network::dns {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

uint16_t get16(const std::string& s, size_t off) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[off]) << 8 | static_cast<uint8_t>(s[off + 1]));
}

// What `dig +noedns db.example. A` sends: id 0x1234, RD, one question.
const std::string kHeader = bytes({0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
const std::string kQuestion = bytes({2, 'd', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0x00, 0x01, 0x00, 0x01});
const std::string kQuery = kHeader + kQuestion;

// Clears QR so a reply parses as a query again: the round trip checks the
// header id and the question the reply carries.
absl::StatusOr<Query> reparse(std::string reply) {
  if (reply.size() > 2) reply[2] = static_cast<char>(reply[2] & 0x7f);
  return parseQuery(reply);
}

TEST(DnsMessage, ParsesHandBuiltQuery) {
  ASSERT_EQ(kQuery.size(), 28u);
  absl::StatusOr<Query> q = parseQuery(kQuery);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->id, 0x1234);
  EXPECT_EQ(q->flags, 0x0100);
  EXPECT_EQ(q->name, "db.example");
  EXPECT_EQ(q->type, kTypeA);
  EXPECT_EQ(q->qclass, kClassIN);
  EXPECT_EQ(q->questionEnd, 28u);
  EXPECT_EQ(q->raw, kQuery);
}

TEST(DnsMessage, IgnoresWhatFollowsTheQuestion) {
  // arcount 1 and an EDNS OPT record (udp size 4096), as dig sends by default.
  std::string packet = kQuery;
  packet[11] = 1;
  packet += bytes({0, 0x00, 0x29, 0x10, 0x00, 0, 0, 0, 0, 0x00, 0x00});
  absl::StatusOr<Query> q = parseQuery(packet);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->questionEnd, 28u);
  EXPECT_EQ(q->raw, packet);
  std::string reply = answerA(*q, {0x0a000002}, 600);
  EXPECT_EQ(reply.size(), 28u + 16u);
  EXPECT_EQ(get16(reply, 10), 0);  // the OPT record is not copied
}

TEST(DnsMessage, FoldsCaseButEchoesTheClientsCase) {
  std::string packet = kHeader + bytes({2, 'D', 'b', 7, 'E', 'X', 'A', 'M', 'P', 'L', 'e', 0, 0x00, 0x1c, 0x00, 0x01});
  absl::StatusOr<Query> q = parseQuery(packet);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->name, "db.example");
  EXPECT_EQ(q->type, kTypeAAAA);
  std::string reply = answerRcode(*q, kRcodeNoError);
  EXPECT_EQ(reply.substr(12), packet.substr(12));
}

TEST(DnsMessage, EscapesBytesThatWouldMakeTheNameAmbiguous) {
  std::string packet = kHeader + bytes({3, 'a', '.', 'b', 3, 'x', ' ', 0, 2, '\\', 0xff, 0, 0x00, 0x01, 0x00, 0x01});
  absl::StatusOr<Query> q = parseQuery(packet);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->name, "a\\.b.x\\032\\000.\\\\\\255");
}

TEST(DnsMessage, ParsesTheRootName) {
  absl::StatusOr<Query> q = parseQuery(kHeader + bytes({0, 0x00, 0x02, 0x00, 0x01}));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->name, "");
  EXPECT_EQ(q->type, 2);
  EXPECT_EQ(q->questionEnd, 17u);
}

TEST(DnsMessage, RejectsEveryTruncation) {
  for (size_t n = 0; n < kQuery.size(); ++n) {
    EXPECT_FALSE(parseQuery(kQuery.substr(0, n)).ok()) << n;
  }
}

TEST(DnsMessage, RejectsWhatIsNotAQuery) {
  std::string response = kQuery;
  response[2] = static_cast<char>(0x81);
  EXPECT_FALSE(parseQuery(response).ok());
  std::string update = kQuery;
  update[2] = static_cast<char>(0x28);  // opcode 5
  EXPECT_FALSE(parseQuery(update).ok());
  std::string noQuestion = kQuery;
  noQuestion[5] = 0;
  EXPECT_FALSE(parseQuery(noQuestion).ok());
}

TEST(DnsMessage, RejectsBadLabelsAndLongNames) {
  std::string label64 = kHeader + bytes({64}) + std::string(64, 'a') + bytes({0, 0, 1, 0, 1});
  EXPECT_FALSE(parseQuery(label64).ok());
  std::string extended = kHeader + bytes({0x41, 0, 0, 1, 0, 1});  // 01 label type (RFC 6891 reserved)
  EXPECT_FALSE(parseQuery(extended).ok());

  auto nameOf = [](std::initializer_list<int> lengths) {
    std::string out;
    for (int len : lengths) out += static_cast<char>(len) + std::string(static_cast<size_t>(len), 'a');
    return out + bytes({0, 0, 1, 0, 1});
  };
  // 3 * 64 + 62 + 1 = 255 bytes on the wire: the longest name allowed.
  absl::StatusOr<Query> longest = parseQuery(kHeader + nameOf({63, 63, 63, 61}));
  ASSERT_TRUE(longest.ok()) << longest.status();
  EXPECT_EQ(longest->name.size(), 253u);
  EXPECT_FALSE(parseQuery(kHeader + nameOf({63, 63, 63, 62})).ok());
  EXPECT_FALSE(parseQuery(kHeader + nameOf({63, 63, 63, 63})).ok());
}

TEST(DnsMessage, RejectsBadCompressionPointers) {
  // The first question's name starts at 12: a pointer to itself loops.
  EXPECT_FALSE(parseQuery(kHeader + bytes({0xc0, 0x0c, 0, 1, 0, 1})).ok());
  // A label, then a pointer back to it: also a loop.
  EXPECT_FALSE(parseQuery(kHeader + bytes({1, 'a', 0xc0, 0x0c, 0, 1, 0, 1})).ok());
  // Into the header, forwards, past the end, cut in half.
  EXPECT_FALSE(parseQuery(kHeader + bytes({0xc0, 0x00, 0, 1, 0, 1})).ok());
  EXPECT_FALSE(parseQuery(kHeader + bytes({0xc0, 0x12, 0, 1, 0, 1, 1, 'a', 0})).ok());
  EXPECT_FALSE(parseQuery(kHeader + bytes({0xff, 0xff, 0, 1, 0, 1})).ok());
  EXPECT_FALSE(parseQuery(kHeader + bytes({0xc0})).ok());
}

TEST(DnsMessage, AnswerAFieldByField) {
  absl::StatusOr<Query> q = parseQuery(kQuery);
  ASSERT_TRUE(q.ok());
  std::string reply = answerA(*q, {0x0a000002, 0xc0a80103}, 600);
  ASSERT_EQ(reply.size(), 28u + 2 * 16u);
  EXPECT_EQ(get16(reply, 0), 0x1234);  // id
  EXPECT_EQ(get16(reply, 2), 0x8180);  // QR, RD echoed, RA, NOERROR
  EXPECT_EQ(get16(reply, 4), 1);       // qdcount
  EXPECT_EQ(get16(reply, 6), 2);       // ancount
  EXPECT_EQ(get16(reply, 8), 0);       // nscount
  EXPECT_EQ(get16(reply, 10), 0);      // arcount
  EXPECT_EQ(reply.substr(12, 16), kQuestion);
  EXPECT_EQ(reply.substr(28, 16),
            bytes({0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58, 0x00, 0x04, 10, 0, 0, 2}));
  EXPECT_EQ(reply.substr(44, 16),
            bytes({0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58, 0x00, 0x04, 192, 168, 1, 3}));

  std::string noRd = kQuery;
  noRd[2] = 0;
  std::string reply2 = answerA(*parseQuery(noRd), {}, 600);
  EXPECT_EQ(get16(reply2, 2), 0x8080);
  EXPECT_EQ(get16(reply2, 6), 0);
  EXPECT_EQ(reply2.size(), 28u);
}

TEST(DnsMessage, AnswerPtr) {
  std::string packet = kHeader + bytes({1, '4', 1, '3', 1, '2', 2, '1', '0', 7, 'i', 'n', '-', 'a', 'd', 'd', 'r', 4, 'a',
                                        'r', 'p', 'a', 0, 0x00, 0x0c, 0x00, 0x01});
  absl::StatusOr<Query> q = parseQuery(packet);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->name, "4.3.2.10.in-addr.arpa");
  EXPECT_EQ(reverseName(q->name), 0x0a020304u);
  std::string reply = answerPtr(*q, "db.mynet.", 30);
  EXPECT_EQ(reply, answerPtr(*q, "db.mynet", 30));
  EXPECT_EQ(get16(reply, 2), 0x8180);
  EXPECT_EQ(get16(reply, 6), 1);
  size_t at = packet.size();
  EXPECT_EQ(reply.substr(0, 4), packet.substr(0, 2) + bytes({0x81, 0x80}));
  EXPECT_EQ(reply.substr(12, at - 12), packet.substr(12));
  EXPECT_EQ(reply.substr(at), bytes({0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0, 0, 0, 30, 0x00, 10, 2, 'd', 'b', 5, 'm',
                                     'y', 'n', 'e', 't', 0}));
  EXPECT_EQ(get16(answerPtr(*q, "a..b", 30), 2), 0x8182);  // not a name: SERVFAIL
}

TEST(DnsMessage, AnswerRcodeRoundTrips) {
  absl::StatusOr<Query> q = parseQuery(kQuery);
  ASSERT_TRUE(q.ok());
  for (int rcode : {kRcodeNoError, kRcodeFormErr, kRcodeServFail, kRcodeNxDomain, kRcodeNotImp, kRcodeRefused}) {
    std::string reply = answerRcode(*q, rcode);
    ASSERT_EQ(reply.size(), 28u);
    EXPECT_EQ(get16(reply, 2), 0x8180 | rcode);
    EXPECT_EQ(get16(reply, 4), 1);
    EXPECT_EQ(get16(reply, 6), 0);
    absl::StatusOr<Query> back = reparse(reply);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->id, 0x1234);
    EXPECT_EQ(back->name, "db.example");
    EXPECT_EQ(back->type, kTypeA);
    EXPECT_EQ(back->questionEnd, reply.size());
  }
}

TEST(DnsMessage, BuildersFallBackToTheNameOfAHandMadeQuery) {
  Query q;
  q.id = 7;
  q.name = "db.example";
  q.type = kTypeA;
  q.qclass = kClassIN;
  EXPECT_EQ(answerRcode(q, kRcodeNxDomain), bytes({0, 7, 0x80, 0x83, 0, 1, 0, 0, 0, 0, 0, 0}) + kQuestion);
}

TEST(DnsMessage, FormErr) {
  EXPECT_EQ(formErr(""), "");
  EXPECT_EQ(formErr(kHeader.substr(0, 11)), "");
  EXPECT_EQ(formErr(kHeader), bytes({0x12, 0x34, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(formErr(kQuery + "junk"), bytes({0x12, 0x34, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0}));
  std::string response = kHeader;
  response[2] = static_cast<char>(0x81);
  EXPECT_EQ(formErr(response), "");  // never answer a response
  std::string update = kHeader;
  update[2] = 0x28;  // opcode 5, no RD
  EXPECT_EQ(errorReply(update, kRcodeNotImp), bytes({0x12, 0x34, 0xa8, 0x84, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(DnsMessage, TruncateTo) {
  absl::StatusOr<Query> q = parseQuery(kQuery);
  ASSERT_TRUE(q.ok());
  std::vector<uint32_t> many;
  for (uint32_t i = 1; i <= 40; ++i) many.push_back(0x0a000000 + i);
  std::string full = answerA(*q, many, 600);
  ASSERT_EQ(full.size(), 28u + 40 * 16);
  std::string cut = truncateTo(full, kMaxUdpPayload);
  ASSERT_EQ(cut.size(), 28u + 30 * 16);
  EXPECT_EQ(get16(cut, 2), 0x8380);  // TC set
  EXPECT_EQ(get16(cut, 6), 30);
  EXPECT_EQ(cut.substr(12), full.substr(12, cut.size() - 12));

  std::string small = answerA(*q, {1, 2}, 600);
  EXPECT_EQ(truncateTo(small, kMaxUdpPayload), small);

  std::string headerOnly = truncateTo(full, 20);
  EXPECT_EQ(headerOnly, bytes({0x12, 0x34, 0x83, 0x80, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(DnsMessage, ReverseName) {
  EXPECT_EQ(reverseName("4.3.2.1.in-addr.arpa"), 0x01020304u);
  EXPECT_EQ(reverseName("4.3.2.1.in-addr.arpa."), 0x01020304u);
  EXPECT_EQ(reverseName("4.3.2.1.IN-ADDR.Arpa"), 0x01020304u);
  EXPECT_EQ(reverseName("255.0.0.10.in-addr.arpa"), 0x0a0000ffu);
  EXPECT_EQ(reverseName("0.0.0.0.in-addr.arpa"), 0u);
  for (const char* bad : {"", ".", "in-addr.arpa", ".in-addr.arpa", "3.2.1.in-addr.arpa", "5.4.3.2.1.in-addr.arpa",
                          "256.3.2.1.in-addr.arpa", "04.3.2.1.in-addr.arpa", "4.3..1.in-addr.arpa",
                          "a.3.2.1.in-addr.arpa", "-4.3.2.1.in-addr.arpa", "4.3.2.1.ip6.arpa", "4.3.2.1in-addr.arpa",
                          "4.3.2.1.in-addr.arpa..", "4.3.2.1", "1000.3.2.1.in-addr.arpa"}) {
    EXPECT_EQ(reverseName(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace berth::network::dns
