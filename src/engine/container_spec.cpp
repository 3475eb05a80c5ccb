#include "engine/container_spec.h"

#include <signal.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "engine/container_doc.h"
#include "runtime/capabilities.h"
#include "util/status.h"
#include "util/strings.h"

namespace berth::engine {
namespace {

using ojson = nlohmann::ordered_json;

int64_t intOf(const ojson& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string modeOf(const std::string& mode) {
  if (mode == "host") return "host";
  return "private";
}

}  // namespace

absl::StatusOr<int> parseSignal(std::string_view name) {
  static const std::pair<const char*, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
      {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},
      {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
      {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS}};
  std::string up;
  for (char c : name) up.push_back(char(std::toupper(static_cast<unsigned char>(c))));
  int n = 0;
  if (!up.empty() && std::all_of(up.begin(), up.end(), ::isdigit)) {
    if (parseInt(up, n) && n > 0 && n <= 64) return n;
    return absl::InvalidArgumentError(strCat("Invalid signal: ", name));
  }
  if (up.starts_with("SIG")) up = up.substr(3);
  for (auto [s, v] : kSignals) {
    if (up == s) return v;
  }
  if (up.starts_with("RTMIN")) {
    int off = 0;
    if (up == "RTMIN") return SIGRTMIN;
    if (up.starts_with("RTMIN+") && parseInt(up.substr(6), off) && SIGRTMIN + off <= SIGRTMAX) return SIGRTMIN + off;
  }
  if (up.starts_with("RTMAX")) {
    int off = 0;
    if (up == "RTMAX") return SIGRTMAX;
    if (up.starts_with("RTMAX-") && parseInt(up.substr(6), off) && SIGRTMAX - off >= SIGRTMIN) return SIGRTMAX - off;
  }
  return absl::InvalidArgumentError(strCat("Invalid signal: ", name));
}

int64_t parseByteSize(std::string_view s) {
  if (s.empty()) return -1;
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  double v = 0;
  try {
    v = std::stod(std::string(s.substr(0, i)));
  } catch (...) {
    return -1;
  }
  std::string unit;
  for (char c : s.substr(i)) unit.push_back(char(std::tolower(static_cast<unsigned char>(c))));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  static const std::pair<const char*, double> kUnits[] = {{"", 1}, {"k", 1024.0}, {"m", 1024.0 * 1024}, {"g", 1024.0 * 1024 * 1024},
                                                          {"t", 1024.0 * 1024 * 1024 * 1024}};
  for (auto [u, m] : kUnits) {
    if (unit == u) return int64_t(v * m);
  }
  return -1;
}

absl::StatusOr<runtime::ContainerSpec> buildContainerSpec(const ojson& doc, const SpecContext& ctx) {
  const ojson& c = doc["Config"];
  const ojson& h = doc["HostConfig"];
  runtime::ContainerSpec s;
  s.id = doc.value("Id", "");
  s.name = doc.value("Name", "");
  if (s.name.starts_with('/')) s.name.erase(0, 1);
  s.image = c.value("Image", "");
  if (c.contains("Labels") && c["Labels"].is_object()) {
    for (const auto& [k, v] : c["Labels"].items()) {
      if (v.is_string()) s.labels[k] = v.get<std::string>();
    }
  }
  if (c.contains("ExposedPorts") && c["ExposedPorts"].is_object()) {
    for (const auto& [key, unused] : c["ExposedPorts"].items()) {
      auto [port, proto] = splitOnce(key, '/');
      runtime::Port p;
      if (!parseInt(port, p.containerPort) || p.containerPort <= 0 || p.containerPort > 65535) continue;
      if (!proto.empty()) p.protocol = std::string(proto);
      s.ports.push_back(std::move(p));
    }
  }
  s.lowerDirs = ctx.lowerDirs;
  s.args.push_back(doc.value("Path", ""));
  for (const std::string& a : stringList(doc.value("Args", ojson::array()))) s.args.push_back(a);
  s.env = stringList(c.value("Env", ojson::array()));
  bool hasPath = std::any_of(s.env.begin(), s.env.end(), [](const std::string& e) { return e.starts_with("PATH="); });
  if (!hasPath) s.env.insert(s.env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  s.hostname = c.value("Hostname", "");
  s.domainname = c.value("Domainname", "");
  s.env.insert(s.env.begin(), "HOSTNAME=" + s.hostname);
  if (c.value("Tty", false)) s.env.push_back("TERM=xterm");
  s.cwd = c.value("WorkingDir", "");
  if (s.cwd.empty()) s.cwd = "/";
  if (!s.cwd.starts_with('/')) return absl::InvalidArgumentError(strCat("the working directory '", s.cwd, "' is invalid, it needs to be an absolute path"));
  s.user = c.value("User", "");
  s.groupAdd = stringList(h.value("GroupAdd", ojson::array()));
  s.terminal = c.value("Tty", false);
  s.privileged = h.value("Privileged", false);
  if (s.privileged && ctx.rootless) {
    // Still confined by the user namespace: "privileged" means every
    // capability of that namespace, as with rootless podman.
  }
  BERTH_ASSIGN_OR_RETURN(s.capabilities, runtime::mergeCapabilities(stringList(h.value("CapAdd", ojson::array())),
                                                                    stringList(h.value("CapDrop", ojson::array())),
                                                                    s.privileged));
  for (const std::string& opt : stringList(h.value("SecurityOpt", ojson::array()))) {
    std::string o = opt;
    std::replace(o.begin(), o.end(), ':', '=');
    if (o == "no-new-privileges" || o == "no-new-privileges=true") {
      s.noNewPrivileges = true;
    } else if (o == "no-new-privileges=false") {
      s.noNewPrivileges = false;
    } else if (o == "seccomp=unconfined") {
      s.seccomp = false;
    } else if (o.starts_with("seccomp=") || o.starts_with("apparmor=") || o.starts_with("label=")) {
      // A custom seccomp profile, AppArmor or SELinux: not supported by this runtime.
      if (o.starts_with("seccomp=")) return absl::InvalidArgumentError("custom seccomp profiles are not supported; use seccomp=unconfined or the default");
    } else {
      return absl::InvalidArgumentError(strCat("invalid --security-opt: \"", opt, "\""));
    }
  }
  if (auto it = h.find("Init"); it != h.end() && it->is_boolean()) s.init = it->get<bool>();
  s.readonlyRootfs = h.value("ReadonlyRootfs", false);
  s.shmSize = intOf(h, "ShmSize") > 0 ? intOf(h, "ShmSize") : 64 << 20;
  s.oomScoreAdj = int(intOf(h, "OomScoreAdj"));
  s.maskedPaths = stringList(h.value("MaskedPaths", ojson::array()));
  s.readonlyPaths = stringList(h.value("ReadonlyPaths", ojson::array()));
  if (auto it = h.find("Sysctls"); it != h.end() && it->is_object()) {
    for (auto e = it->begin(); e != it->end(); ++e) {
      if (e->is_string()) s.sysctls[e.key()] = e->get<std::string>();
    }
  }
  if (auto it = h.find("Ulimits"); it != h.end() && it->is_array()) {
    for (const auto& u : *it) {
      if (!u.is_object()) continue;
      s.rlimits.push_back({u.value("Name", ""), u.value("Soft", int64_t(0)), u.value("Hard", int64_t(0))});
    }
  }
  // Namespaces. Networks other than host and none are set up by the engine
  // at start (NetworkService::setUpSandbox) and joined as netMode "path".
  std::string net = h.value("NetworkMode", "bridge");
  s.netMode = net == "host" ? "host" : "private";
  s.pidMode = modeOf(h.value("PidMode", ""));
  s.ipcMode = modeOf(h.value("IpcMode", ""));
  s.utsMode = modeOf(h.value("UTSMode", ""));
  if (s.netMode == "host" && c.value("Hostname", "").size() == 12) s.utsMode = "host";
  // Mounts.
  for (const auto& m : doc.value("Mounts", ojson::array())) {
    runtime::Mount rm;
    std::string type = m.value("Type", "");
    rm.type = type == "tmpfs" ? "tmpfs" : "bind";
    rm.source = m.value("Source", "");
    rm.destination = m.value("Destination", "");
    rm.readOnly = !m.value("RW", true);
    rm.propagation = m.value("Propagation", "");
    if (type == "volume") {
      rm.volume = m.value("Name", "");
      std::string mode = m.value("Mode", "");
      rm.copyUp = mode != "nocopy" && !mode.ends_with(",nocopy");
    }
    s.mounts.push_back(std::move(rm));
  }
  if (auto it = h.find("Tmpfs"); it != h.end() && it->is_object()) {
    for (auto e = it->begin(); e != it->end(); ++e) {
      runtime::Mount rm;
      rm.type = "tmpfs";
      rm.destination = e.key();
      std::string opts = e->is_string() ? e->get<std::string>() : "";
      std::vector<std::string> keep;
      for (std::string_view o : split(opts, ',')) {
        if (o == "ro") rm.readOnly = true;
        else if (o == "rw" || o.empty() || o == "noexec" || o == "exec" || o == "nosuid" || o == "suid" || o == "nodev" || o == "dev") continue;
        else keep.emplace_back(o);
      }
      if (std::none_of(keep.begin(), keep.end(), [](const std::string& k) { return k.starts_with("mode="); })) keep.push_back("mode=1777");
      rm.options = join(keep, ",");
      s.mounts.push_back(std::move(rm));
    }
  }
  // Resources.
  runtime::Resources& r = s.resources;
  r.memory = intOf(h, "Memory");
  r.memorySwap = intOf(h, "MemorySwap");
  r.memoryReservation = intOf(h, "MemoryReservation");
  r.cpuShares = intOf(h, "CpuShares");
  r.cpuPeriod = intOf(h, "CpuPeriod");
  r.cpuQuota = intOf(h, "CpuQuota");
  if (int64_t nano = intOf(h, "NanoCpus"); nano > 0) {
    r.cpuPeriod = 100000;
    r.cpuQuota = nano * r.cpuPeriod / 1000000000;
  }
  r.cpusetCpus = h.value("CpusetCpus", "");
  r.cpusetMems = h.value("CpusetMems", "");
  r.pidsLimit = intOf(h, "PidsLimit");
  return s;
}

std::vector<std::string> linkVariables(std::string_view alias, std::string_view linkName, std::string_view ip,
                                       const ojson& exposedPorts, const ojson& env) {
  std::string prefix = absl::AsciiStrToUpper(std::string(alias));
  std::replace(prefix.begin(), prefix.end(), '-', '_');
  struct Port {
    int num;
    std::string proto;
  };
  std::vector<Port> ports;
  if (exposedPorts.is_object()) {
    for (const auto& [key, unused] : exposedPorts.items()) {
      auto [num, proto] = splitOnce(key, '/');
      int n = 0;
      if (absl::SimpleAtoi(std::string(num), &n)) ports.push_back({n, proto.empty() ? "tcp" : std::string(proto)});
    }
  }
  // dockerd's order: TCP ports first, then by protocol, then by number.
  std::sort(ports.begin(), ports.end(), [](const Port& a, const Port& b) {
    if (a.proto != b.proto) {
      if (a.proto == "tcp" || b.proto == "tcp") return a.proto == "tcp";
      return a.proto < b.proto;
    }
    return a.num < b.num;
  });
  std::vector<std::string> out;
  auto url = [&](const Port& p) { return strCat(p.proto, "://", ip, ":", p.num); };
  auto portPrefix = [&](const Port& p) { return strCat(prefix, "_PORT_", p.num, "_", absl::AsciiStrToUpper(p.proto)); };
  if (!ports.empty()) out.push_back(strCat(prefix, "_PORT=", url(ports[0])));
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string p = portPrefix(ports[i]);
    out.push_back(strCat(p, "=", url(ports[i])));
    out.push_back(strCat(p, "_ADDR=", ip));
    out.push_back(strCat(p, "_PORT=", ports[i].num));
    out.push_back(strCat(p, "_PROTO=", ports[i].proto));
  }
  // A run of consecutive ports of one protocol is also named as a range, after its first port.
  for (size_t start = 0; start < ports.size();) {
    size_t end = start;
    while (end + 1 < ports.size() && ports[end + 1].proto == ports[start].proto &&
           ports[end + 1].num == ports[end].num + 1) {
      ++end;
    }
    if (end > start) {
      std::string p = portPrefix(ports[start]);
      out.push_back(strCat(p, "_START=", url(ports[start])));
      out.push_back(strCat(p, "_PORT_START=", ports[start].num));
      out.push_back(strCat(p, "_END=", url(ports[end])));
      out.push_back(strCat(p, "_PORT_END=", ports[end].num));
    }
    start = end + 1;
  }
  out.push_back(strCat(prefix, "_NAME=", linkName));
  for (const std::string& var : stringList(env)) {
    if (var.find('=') == std::string::npos) continue;
    auto [key, value] = splitOnce(var, '=');
    if (key == "HOME" || key == "PATH") continue;
    out.push_back(strCat(prefix, "_ENV_", key, "=", value));
  }
  return out;
}

}  // namespace berth::engine
