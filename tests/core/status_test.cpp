#include "timbre/core/status.h"

#include <gtest/gtest.h>

#include <set>

namespace timbre {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ReasonDefaultsToCodeName) {
  Status s = Corrupt("bad bytes");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.reason(), "corrupt");
  EXPECT_EQ(s.ToString(), "corrupt: bad bytes");
  Status r = Corrupt("cut").WithReason("truncated");
  EXPECT_EQ(r.reason(), "truncated");
  EXPECT_EQ(r.code(), StatusCode::kCorrupt);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Status UsesMacro(int x, int* out) {
  auto r = Half(x);
  TIMBRE_RETURN_IF_ERROR(r.status());
  *out = *r;
  return Status::Ok();
}

TEST(ResultTest, HoldsValueOrStatus) {
  auto good = Half(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 2);
  auto bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  int out = 0;
  EXPECT_TRUE(UsesMacro(6, &out).ok());
  EXPECT_EQ(out, 3);
  EXPECT_EQ(UsesMacro(5, &out).message(), "odd");
}

TEST(StatusCodeTable, EveryCodeHasOneMeaningOutside) {
  std::set<std::string_view> names;
  for (const auto& info : AllStatusCodes()) {
    EXPECT_EQ(&InfoOf(info.code), &info);
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_GE(info.http_status, 200);
    EXPECT_LT(info.http_status, 600);
  }
  EXPECT_EQ(InfoOf(StatusCode::kOk).http_status, 200);
  EXPECT_EQ(InfoOf(StatusCode::kInvalidArgument).http_status, 400);
  EXPECT_EQ(InfoOf(StatusCode::kNotFound).http_status, 404);
  EXPECT_EQ(InfoOf(StatusCode::kConflict).http_status, 409);
  EXPECT_EQ(InfoOf(StatusCode::kResourceExhausted).http_status, 429);
  EXPECT_EQ(InfoOf(StatusCode::kUnavailable).http_status, 503);
  EXPECT_EQ(InfoOf(StatusCode::kDeadlineExceeded).http_status, 504);
  // Input errors exit 2 and are never retried; a dependency being down is retried.
  EXPECT_EQ(InfoOf(StatusCode::kInvalidArgument).exit_code, 2);
  EXPECT_FALSE(InfoOf(StatusCode::kInvalidArgument).retryable);
  EXPECT_EQ(InfoOf(StatusCode::kIoError).exit_code, 1);
  EXPECT_TRUE(InfoOf(StatusCode::kUnavailable).retryable);
  EXPECT_EQ(Unavailable("x").reason(), "unavailable");
  EXPECT_EQ(DeadlineExceeded("x").ToString(), "deadline_exceeded: x");
}

}  // namespace
}  // namespace timbre
