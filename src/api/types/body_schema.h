#pragma once
// The JSON types of the request bodies dockerd decodes into Go structs.
// dockerd refuses a field of the wrong type with 400 before it does anything
// else; Berth keeps bodies as JSON, so without this check `{"Memory":"1g"}`
// would be stored and fail later, far from the request. As in Go, unknown
// fields and nulls pass.
#include <string_view>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace berth::api::types {

struct BodySchema;

// The bodies of POST /containers/create (Config with HostConfig and
// NetworkingConfig), /containers/{id}/update, /containers/{id}/exec,
// /networks/create, /networks/{id}/connect and disconnect, /volumes/create.
extern const BodySchema kContainerCreateBody;
extern const BodySchema kContainerUpdateBody;
extern const BodySchema kExecCreateBody;
extern const BodySchema kNetworkCreateBody;
extern const BodySchema kNetworkConnectBody;
extern const BodySchema kNetworkDisconnectBody;
extern const BodySchema kVolumeCreateBody;

// InvalidArgument "invalid JSON: json: cannot unmarshal string into Go struct
// field HostConfig.Memory of type int64" (dockerd's text) for the first field
// whose value does not fit its type; OK otherwise.
absl::Status checkBodyTypes(const nlohmann::json& body, const BodySchema& schema);

}  // namespace berth::api::types
