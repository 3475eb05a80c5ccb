#include <string_view>

#include "api/routes/unsupported/unimplemented_routes.h"

namespace berth::api::routes {
namespace {

namespace net = boost::asio;

// dockerd's texts for a node that is not in a swarm.
constexpr std::string_view kNotManager =
    "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to "
    "swarm and try again.";
constexpr std::string_view kNotInSwarm = "This node is not part of a swarm";

enum class Answer { NotManager, NotInSwarm, NoSwarmMode };

struct SwarmEndpoint {
  const char* method;
  const char* pattern;
  Answer answer;
};

constexpr SwarmEndpoint kSwarm[] = {
    {"GET", "/swarm", Answer::NotManager},
    {"POST", "/swarm/init", Answer::NoSwarmMode},
    {"POST", "/swarm/join", Answer::NoSwarmMode},
    {"POST", "/swarm/leave", Answer::NotInSwarm},
    {"POST", "/swarm/update", Answer::NotManager},
    {"GET", "/swarm/unlockkey", Answer::NotManager},
    {"POST", "/swarm/unlock", Answer::NotInSwarm},
    {"GET", "/nodes", Answer::NotManager},
    {"GET", "/nodes/{id}", Answer::NotManager},
    {"DELETE", "/nodes/{id}", Answer::NotManager},
    {"POST", "/nodes/{id}/update", Answer::NotManager},
    {"GET", "/services", Answer::NotManager},
    {"POST", "/services/create", Answer::NotManager},
    {"GET", "/services/{id}", Answer::NotManager},
    {"DELETE", "/services/{id}", Answer::NotManager},
    {"POST", "/services/{id}/update", Answer::NotManager},
    {"GET", "/services/{id}/logs", Answer::NotManager},
    {"GET", "/tasks", Answer::NotManager},
    {"GET", "/tasks/{id}", Answer::NotManager},
    {"GET", "/tasks/{id}/logs", Answer::NotManager},
    {"GET", "/secrets", Answer::NotManager},
    {"POST", "/secrets/create", Answer::NotManager},
    {"GET", "/secrets/{id}", Answer::NotManager},
    {"DELETE", "/secrets/{id}", Answer::NotManager},
    {"POST", "/secrets/{id}/update", Answer::NotManager},
    {"GET", "/configs", Answer::NotManager},
    {"POST", "/configs/create", Answer::NotManager},
    {"GET", "/configs/{id}", Answer::NotManager},
    {"DELETE", "/configs/{id}", Answer::NotManager},
    {"POST", "/configs/{id}/update", Answer::NotManager},
};

absl::Status answerFor(Answer a) {
  switch (a) {
    case Answer::NotManager: return absl::UnavailableError(std::string(kNotManager));
    case Answer::NotInSwarm: return absl::UnavailableError(std::string(kNotInSwarm));
    case Answer::NoSwarmMode: break;
  }
  // Berth has no swarm mode, so a node can never join or start one.
  return absl::UnimplementedError("swarm mode is not supported by Berth");
}

}  // namespace

std::vector<httputil::RouteSpec> swarmRoutes() {
  std::vector<httputil::RouteSpec> out;
  for (const SwarmEndpoint& e : kSwarm) {
    Answer a = e.answer;
    out.push_back({e.method, e.pattern, [a](httputil::Exchange&) -> net::awaitable<absl::Status> {
                     co_return answerFor(a);
                   }});
  }
  return out;
}

}  // namespace berth::api::routes
