#include "timbre/core/text.h"

#include <gtest/gtest.h>

namespace timbre {
namespace {

TEST(TextTest, MapsAsciiCaseAndLeavesOtherBytesAlone) {
  EXPECT_EQ(AsciiUpper("nom:timbre_dsp_0-1-0"), "NOM:TIMBRE_DSP_0-1-0");
  EXPECT_EQ(AsciiLower("X-Internal-Secret"), "x-internal-secret");
  EXPECT_EQ(AsciiUpper("caf\xc3\xa9"), "CAF\xc3\xa9");  // é stays as it was
  EXPECT_EQ(AsciiLower(""), "");
}

}  // namespace
}  // namespace timbre
