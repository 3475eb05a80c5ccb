// berth-loadgen: a closed-loop HTTP/1.1 load generator for a UNIX socket.
//
// Every connection is keep-alive and has exactly one request in flight (no
// pipelining): a new request is sent the moment the previous response has been
// read in full. All connections of a thread are driven by one epoll loop, so
// 64 clients cost one thread, not 64 — the benchmark machine shares its few
// cores with the server under test, and the generator must stay cheap.
//
// Usage:
//   berth-loadgen --unix PATH [--path /_ping] [--connections N]
//                 [--duration SECONDS] [--warmup SECONDS] [--threads N]
//
// Prints one JSON line:
//   {"path":..,"connections":..,"requests":..,"errors":..,"seconds":..,
//    "rps":..,"p50_us":..,"p99_us":..}
// "requests" counts only 200 responses completed inside the measured window
// (after the warm-up); any other status, a malformed response or a broken
// connection counts as an error. Exit status: 0 if at least one request
// succeeded, 1 if none did, 2 on bad arguments or when the socket cannot be
// connected at start.

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Command line

struct Options {
  std::string unix_path;
  std::string path = "/_ping";
  int connections = 1;
  double duration = 5.0;
  double warmup = 1.0;
  int threads = 1;
};

constexpr const char* kUsage =
    "usage: berth-loadgen --unix PATH [--path /_ping] [--connections N]\n"
    "                     [--duration SECONDS] [--warmup SECONDS] [--threads N]\n";

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "berth-loadgen: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

template <typename T>
T parse_number(std::string_view flag, std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    usage_error("invalid value for " + std::string(flag) + ": '" + std::string(text) + "'");
  }
  return value;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view flag = arg;
    std::optional<std::string_view> value;
    // Accept both "--flag value" and "--flag=value".
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (!value) {
      if (i + 1 >= argc) usage_error("missing value for " + std::string(flag));
      value = argv[++i];
    }
    if (flag == "--unix") {
      options.unix_path = *value;
    } else if (flag == "--path") {
      options.path = *value;
    } else if (flag == "--connections") {
      options.connections = parse_number<int>(flag, *value);
    } else if (flag == "--duration") {
      options.duration = parse_number<double>(flag, *value);
    } else if (flag == "--warmup") {
      options.warmup = parse_number<double>(flag, *value);
    } else if (flag == "--threads") {
      options.threads = parse_number<int>(flag, *value);
    } else {
      usage_error("unknown flag " + std::string(flag));
    }
  }
  if (options.unix_path.empty()) usage_error("--unix PATH is required");
  if (options.path.empty() || options.path[0] != '/') usage_error("--path must start with '/'");
  // The path goes verbatim into the request line, so it must not break it.
  if (options.path.find_first_of(" \r\n") != std::string::npos) {
    usage_error("--path must not contain spaces or line breaks");
  }
  if (options.connections < 1) usage_error("--connections must be at least 1");
  if (!(options.duration > 0)) usage_error("--duration must be positive");
  if (!(options.warmup >= 0)) usage_error("--warmup must not be negative");
  if (options.threads < 1) usage_error("--threads must be at least 1");
  options.threads = std::min(options.threads, options.connections);
  return options;
}

// ---------------------------------------------------------------------------
// Incremental HTTP/1.1 response parser. Body bytes are skipped, not stored:
// only the status and the message framing matter here.

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

class ResponseParser {
 public:
  enum class Result { kNeedMore, kDone, kError };

  // Parses data[0, len). On kNeedMore/kDone, `consumed` says how many bytes
  // may be dropped; unconsumed bytes must be passed again with more data.
  Result parse(const char* data, size_t len, size_t& consumed) {
    size_t pos = 0;
    Result result = step(data, len, pos);
    consumed = pos;
    return result;
  }

  // The peer closed the connection: that completes a close-delimited body.
  bool complete_at_eof() const { return state_ == State::kUntilClose; }

  int status() const { return status_; }
  bool must_close() const { return close_; }
  const std::string& error() const { return error_; }

  void reset() { *this = ResponseParser{}; }

 private:
  enum class State { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kUntilClose };

  // Headers or chunk-size lines longer than this are treated as garbage.
  static constexpr size_t kMaxHead = 64 * 1024;
  static constexpr size_t kMaxLine = 4096;

  Result fail(std::string message) {
    error_ = std::move(message);
    return Result::kError;
  }

  Result step(const char* data, size_t len, size_t& pos) {
    for (;;) {
      std::string_view rest(data + pos, len - pos);
      switch (state_) {
        case State::kHead: {
          auto end = rest.find("\r\n\r\n");
          if (end == std::string_view::npos) {
            if (rest.size() > kMaxHead) return fail("response head too large");
            return Result::kNeedMore;
          }
          if (!parse_head(rest.substr(0, end + 2))) return Result::kError;
          pos += end + 4;
          if (status_ < 200) {  // Interim (1xx) response: the real one follows.
            reset_head();
            continue;
          }
          if (state_ == State::kHead) return Result::kDone;  // No body.
          continue;
        }
        case State::kBody:
        case State::kChunkData: {
          size_t take = std::min<size_t>(remaining_, rest.size());
          pos += take;
          remaining_ -= take;
          if (remaining_ > 0) return Result::kNeedMore;
          if (state_ == State::kBody) return Result::kDone;
          state_ = State::kChunkDataEnd;
          continue;
        }
        case State::kChunkDataEnd:
          if (rest.size() < 2) return Result::kNeedMore;
          if (rest.substr(0, 2) != "\r\n") return fail("missing CRLF after chunk data");
          pos += 2;
          state_ = State::kChunkSize;
          continue;
        case State::kChunkSize: {
          auto eol = rest.find("\r\n");
          if (eol == std::string_view::npos) {
            if (rest.size() > kMaxLine) return fail("chunk size line too long");
            return Result::kNeedMore;
          }
          // Chunk extensions (";name=value") are allowed and ignored.
          std::string_view line = trim(rest.substr(0, std::min(eol, rest.find(';'))));
          uint64_t size = 0;
          auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
          if (line.empty() || ec != std::errc{} || end != line.data() + line.size()) {
            return fail("bad chunk size");
          }
          pos += eol + 2;
          remaining_ = size;
          state_ = size == 0 ? State::kTrailers : State::kChunkData;
          continue;
        }
        case State::kTrailers: {
          auto eol = rest.find("\r\n");
          if (eol == std::string_view::npos) {
            if (rest.size() > kMaxHead) return fail("trailers too large");
            return Result::kNeedMore;
          }
          pos += eol + 2;
          if (eol == 0) return Result::kDone;  // Empty line ends the message.
          continue;
        }
        case State::kUntilClose:
          pos = len;  // Everything up to EOF is body.
          return Result::kNeedMore;
      }
    }
  }

  void reset_head() {
    status_ = 0;
    close_ = false;
    state_ = State::kHead;
  }

  // `head` is the status line and the header lines, each ending in CRLF.
  bool parse_head(std::string_view head) {
    auto eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    head.remove_prefix(eol + 2);

    // "HTTP/1.x SSS reason"
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ') {
      fail("bad status line");
      return false;
    }
    bool http10 = status_line[7] == '0';
    auto [end, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status_);
    if (ec != std::errc{} || end != status_line.data() + 12 || status_ < 100 || status_ > 999) {
      fail("bad status code");
      return false;
    }

    std::optional<uint64_t> content_length;
    bool chunked = false;
    bool other_coding = false;
    bool keep_alive = false;
    while (!head.empty()) {
      eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      head.remove_prefix(eol + 2);
      auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        fail("bad header line");
        return false;
      }
      std::string_view name = line.substr(0, colon);
      std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "content-length")) {
        uint64_t n = 0;
        auto [vend, vec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (value.empty() || vec != std::errc{} || vend != value.data() + value.size() ||
            (content_length && *content_length != n)) {
          fail("bad Content-Length");
          return false;
        }
        content_length = n;
      } else if (iequals(name, "transfer-encoding")) {
        // Only a final "chunked" coding frames the body; anything else means
        // the body runs until the connection closes.
        auto last = value.rfind(',');
        chunked = iequals(trim(last == std::string_view::npos ? value : value.substr(last + 1)),
                          "chunked");
        other_coding = !chunked;
      } else if (iequals(name, "connection")) {
        close_ = close_ || has_token(value, "close");
        keep_alive = keep_alive || has_token(value, "keep-alive");
      }
    }
    if (http10 && !keep_alive) close_ = true;

    // Message framing as in RFC 9112 section 6.3.
    if (status_ < 200 || status_ == 204 || status_ == 304) {
      state_ = State::kHead;
    } else if (chunked) {
      state_ = State::kChunkSize;
    } else if (other_coding || !content_length) {
      state_ = State::kUntilClose;
      close_ = true;
    } else if (*content_length == 0) {
      state_ = State::kHead;
    } else {
      remaining_ = *content_length;
      state_ = State::kBody;
    }
    return true;
  }

  State state_ = State::kHead;
  uint64_t remaining_ = 0;
  int status_ = 0;
  bool close_ = false;
  std::string error_;
};

// ---------------------------------------------------------------------------
// Sockets

int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // Connect while still blocking: a full listen backlog then waits instead of
  // failing with EAGAIN, which is what a real client would do too.
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// ---------------------------------------------------------------------------
// One thread: an epoll loop over its share of the connections.

struct Stats {
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::vector<uint32_t> latencies_us;
  std::string first_error;
};

class Worker {
 public:
  Worker(const Options& options, std::string_view request, std::vector<int> fds,
         Clock::time_point measure_from, Clock::time_point until)
      : options_(options), request_(request), measure_from_(measure_from), until_(until) {
    conns_.resize(fds.size());
    for (size_t i = 0; i < fds.size(); ++i) conns_[i].fd = fds[i];
    live_ = conns_.size();
  }

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  ~Worker() {
    for (auto& c : conns_) {
      if (c.fd >= 0) close(c.fd);
    }
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  void run() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
      fatal(std::string("epoll_create1: ") + std::strerror(errno));
      return;
    }
    auto now = Clock::now();
    for (auto& c : conns_) {
      if (!watch(c, EPOLLIN, EPOLL_CTL_ADD)) {
        reconnect(c, std::string("epoll_ctl: ") + std::strerror(errno), now);
        continue;
      }
      send_request(c, now);
    }

    std::vector<epoll_event> events(conns_.size());
    while (live_ > 0) {
      now = Clock::now();
      if (now >= until_) break;
      // Wake up at the deadline at the latest, even if the server stalls.
      auto left = std::chrono::ceil<std::chrono::milliseconds>(until_ - now).count();
      int n = epoll_wait(epoll_fd_, events.data(), int(events.size()), int(std::min<long>(left, 1000)));
      if (n < 0) {
        if (errno == EINTR) continue;
        fatal(std::string("epoll_wait: ") + std::strerror(errno));
        break;
      }
      for (int i = 0; i < n; ++i) {
        handle(conns_[events[i].data.u32], events[i].events);
      }
    }
  }

  const Stats& stats() const { return stats_; }

 private:
  struct Conn {
    int fd = -1;
    std::vector<char> buf = std::vector<char>(4096);
    size_t len = 0;               // Bytes of buf holding unparsed input.
    size_t written = 0;           // Bytes of the current request already sent.
    Clock::time_point sent_at{};  // When the current request was started.
    ResponseParser parser;
  };

  bool watch(Conn& c, uint32_t what, int op) {
    epoll_event ev{};
    ev.events = what;
    ev.data.u32 = uint32_t(&c - conns_.data());
    return epoll_ctl(epoll_fd_, op, c.fd, &ev) == 0;
  }

  // A failed request. Like successes, failures during the warm-up are not
  // counted; the first message is kept either way, to explain odd numbers.
  void error(std::string message) {
    if (Clock::now() >= measure_from_) ++stats_.errors;
    if (stats_.first_error.empty()) stats_.first_error = std::move(message);
  }

  // The loop itself broke: always counted, since the thread stops.
  void fatal(std::string message) {
    ++stats_.errors;
    if (stats_.first_error.empty()) stats_.first_error = std::move(message);
  }

  // Starts the next request on `c`. Requests are tiny, so the write nearly
  // always completes at once; otherwise the rest goes out on EPOLLOUT.
  void send_request(Conn& c, Clock::time_point now) {
    c.sent_at = now;
    c.written = 0;
    c.parser.reset();
    write_rest(c, now);
  }

  void write_rest(Conn& c, Clock::time_point now) {
    while (c.written < request_.size()) {
      ssize_t n = send(c.fd, request_.data() + c.written, request_.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += size_t(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        if (!watch(c, EPOLLOUT, EPOLL_CTL_MOD)) {
          reconnect(c, std::string("epoll_ctl: ") + std::strerror(errno), now);
        }
        return;
      } else {
        reconnect(c, std::string("send: ") + std::strerror(errno), now);
        return;
      }
    }
  }

  void handle(Conn& c, uint32_t events) {
    if (c.fd < 0) return;
    auto now = Clock::now();
    if (c.written < request_.size()) {  // Waiting for EPOLLOUT.
      if (events & (EPOLLERR | EPOLLHUP)) {
        reconnect(c, "connection closed while sending", now);
        return;
      }
      write_rest(c, now);
      if (c.fd >= 0 && c.written == request_.size() && !watch(c, EPOLLIN, EPOLL_CTL_MOD)) {
        reconnect(c, std::string("epoll_ctl: ") + std::strerror(errno), now);
      }
      return;
    }

    // Level-triggered: one read per wake-up; if more is buffered, epoll
    // reports the socket again.
    if (c.buf.size() - c.len < 1024) c.buf.resize(c.buf.size() * 2);
    ssize_t n = read(c.fd, c.buf.data() + c.len, c.buf.size() - c.len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      reconnect(c, std::string("read: ") + std::strerror(errno), now);
      return;
    }
    if (n == 0) {
      if (c.parser.complete_at_eof()) {
        finish(c, now);
      } else {
        reconnect(c, "connection closed before the response was complete", now);
      }
      return;
    }
    c.len += size_t(n);

    size_t consumed = 0;
    auto result = c.parser.parse(c.buf.data(), c.len, consumed);
    if (result == ResponseParser::Result::kError) {
      reconnect(c, "bad response: " + c.parser.error(), now);
      return;
    }
    // Drop what the parser is done with; normally that is everything.
    std::memmove(c.buf.data(), c.buf.data() + consumed, c.len - consumed);
    c.len -= consumed;
    if (result == ResponseParser::Result::kNeedMore) return;
    if (c.len != 0) {
      // With one request in flight, nothing may follow the response.
      reconnect(c, "unexpected bytes after the response", now);
      return;
    }
    finish(c, now);
  }

  // A full response has arrived on `c`: account for it, then keep going.
  void finish(Conn& c, Clock::time_point now) {
    if (c.parser.status() == 200) {
      if (now >= measure_from_ && now < until_) {
        ++stats_.ok;
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent_at).count();
        stats_.latencies_us.push_back(uint32_t(std::min<int64_t>(us, UINT32_MAX)));
      }
    } else {
      error("HTTP status " + std::to_string(c.parser.status()));
    }
    if (c.parser.must_close() || c.parser.complete_at_eof()) {
      reopen(c, now);
    } else {
      send_request(c, now);
    }
  }

  // Replaces a failed connection and counts the failure.
  void reconnect(Conn& c, std::string message, Clock::time_point now) {
    error(std::move(message));
    reopen(c, now);
  }

  // Opens a fresh connection in place of `c` (after Connection: close or a
  // failure). If the server no longer accepts, the connection is retired.
  void reopen(Conn& c, Clock::time_point now) {
    if (c.fd >= 0) close(c.fd);  // Also removes it from the epoll set.
    c.fd = -1;
    c.len = 0;
    if (now >= until_) return;
    c.fd = connect_unix(options_.unix_path);
    if (c.fd < 0 || !watch(c, EPOLLIN, EPOLL_CTL_ADD)) {
      error("reconnect: " + std::string(std::strerror(errno)));
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
      --live_;
      return;
    }
    send_request(c, now);
  }

  const Options& options_;
  std::string_view request_;
  Clock::time_point measure_from_;
  Clock::time_point until_;
  std::vector<Conn> conns_;
  Stats stats_;
  size_t live_ = 0;  // Connections not yet retired.
  int epoll_fd_ = -1;
};

// ---------------------------------------------------------------------------
// Output

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", ch);
      out += esc;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// Nearest-rank percentile; `v` is reordered.
uint32_t percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  auto rank = size_t(std::ceil(p * double(v.size())));
  size_t index = std::clamp<size_t>(rank, 1, v.size()) - 1;
  std::nth_element(v.begin(), v.begin() + long(index), v.end());
  return v[index];
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // A closed socket must be an error, not death.
  Options options = parse_options(argc, argv);

  const std::string request = "GET " + options.path +
                              " HTTP/1.1\r\n"
                              "Host: localhost\r\n"
                              "User-Agent: berth-loadgen\r\n"
                              "\r\n";

  // Connect everything up front, so a server that is not there fails fast
  // and connection set-up does not eat into the measured time.
  std::vector<std::vector<int>> fds(size_t(options.threads));
  for (int i = 0; i < options.connections; ++i) {
    int fd = connect_unix(options.unix_path);
    if (fd < 0) {
      std::fprintf(stderr, "berth-loadgen: connect %s: %s\n", options.unix_path.c_str(),
                   std::strerror(errno));
      return 2;
    }
    fds[size_t(i % options.threads)].push_back(fd);
  }

  auto to_clock = [](double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  const auto measure_from = Clock::now() + to_clock(options.warmup);
  const auto until = measure_from + to_clock(options.duration);

  std::vector<std::unique_ptr<Worker>> workers;
  for (auto& slice : fds) {
    workers.push_back(std::make_unique<Worker>(options, request, std::move(slice), measure_from, until));
  }
  {
    std::vector<std::jthread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  }

  Stats total;
  for (auto& w : workers) {
    const Stats& s = w->stats();
    total.ok += s.ok;
    total.errors += s.errors;
    total.latencies_us.insert(total.latencies_us.end(), s.latencies_us.begin(), s.latencies_us.end());
    if (total.first_error.empty()) total.first_error = s.first_error;
  }
  if (!total.first_error.empty()) {
    std::fprintf(stderr, "berth-loadgen: %llu errors; first: %s\n",
                 static_cast<unsigned long long>(total.errors), total.first_error.c_str());
  }

  // The window is fixed (warm-up end to deadline), and only responses that
  // completed inside it are counted, so requests / seconds is exact.
  const double seconds = options.duration;
  const uint32_t p50 = percentile(total.latencies_us, 0.50);
  const uint32_t p99 = percentile(total.latencies_us, 0.99);
  std::printf(
      "{\"path\":%s,\"connections\":%d,\"requests\":%llu,\"errors\":%llu,\"seconds\":%.3f,"
      "\"rps\":%.1f,\"p50_us\":%u,\"p99_us\":%u}\n",
      json_string(options.path).c_str(), options.connections,
      static_cast<unsigned long long>(total.ok), static_cast<unsigned long long>(total.errors),
      seconds, double(total.ok) / seconds, p50, p99);
  return total.ok > 0 ? 0 : 1;
}
