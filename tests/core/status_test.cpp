#include "timbre/core/status.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace timbre
