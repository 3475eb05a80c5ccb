#include "api/server/error_status.h"

#include <gtest/gtest.h>

namespace berth::api::server {
namespace {

TEST(ErrorStatus, MapsEveryKind) {
  struct Case {
    absl::Status status;
    int http;
  } cases[] = {
      {absl::InvalidArgumentError("x"), 400},    {absl::OutOfRangeError("x"), 400},
      {absl::UnauthenticatedError("x"), 401},    {absl::PermissionDeniedError("x"), 403},
      {absl::NotFoundError("x"), 404},           {absl::AlreadyExistsError("x"), 409},
      {absl::FailedPreconditionError("x"), 409}, {absl::AbortedError("x"), 409},
      {absl::ResourceExhaustedError("x"), 413},  {absl::CancelledError("x"), 499},
      {absl::UnimplementedError("x"), 501},      {absl::UnavailableError("x"), 503},
      {absl::DeadlineExceededError("x"), 504},   {absl::InternalError("x"), 500},
      {absl::UnknownError("x"), 500},            {absl::DataLossError("x"), 500},
  };
  for (const Case& c : cases) EXPECT_EQ(httpStatusFor(c.status), c.http) << c.status;
}

TEST(ErrorStatus, BodyIsDockerdShapeAndEscaped) {
  EXPECT_EQ(errorBody(absl::NotFoundError("page not found")), "{\"message\":\"page not found\"}\n");
  EXPECT_EQ(errorBody(absl::InvalidArgumentError("say \"hi\"\n")), "{\"message\":\"say \\\"hi\\\"\\n\"}\n");
  // Invalid UTF-8 in a message never throws.
  EXPECT_EQ(errorBody(absl::InternalError(std::string("bad \xff byte"))), "{\"message\":\"bad \xEF\xBF\xBD byte\"}\n");
}

}  // namespace
}  // namespace berth::api::server
