#include "driver/core/duration.h"

#include <gtest/gtest.h>

namespace snapvol::core {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, UnitsAndOff) {
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("5s"), milliseconds(5000));
  EXPECT_EQ(*ParseDuration("2m"), milliseconds(120000));
  EXPECT_EQ(*ParseDuration("1h"), milliseconds(3600000));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("off"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("0s"), milliseconds(0));
}

TEST(DurationTest, BareNumbersOnlyWhereAsked) {
  Result<milliseconds> bare = ParseDuration("10");
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("missing unit"), std::string::npos);
  EXPECT_EQ(*ParseDuration("10", DurationSyntax{true}), milliseconds(10000));
}

TEST(DurationTest, RefusesWhatIsNotADuration) {
  for (const char* text : {"", "-1s", "1.5s", "soon", "5 s", "5S", "s", "ms", "1d", "5s5",
                           "99999999999999999999999s", "367d", "8785h"}) {
    Result<milliseconds> r = ParseDuration(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_TRUE(r.status().Is(Code::kInvalidArgument)) << text;
      EXPECT_NE(r.status().message().find("invalid duration '" + std::string(text) + "'"),
                std::string::npos);
    }
  }
  EXPECT_NE(ParseDuration("1.5s").status().message().find("fractions"), std::string::npos);
  EXPECT_NE(ParseDuration("8785h").status().message().find("longer than a year"),
            std::string::npos);
  EXPECT_EQ(*ParseDuration("8784h"), milliseconds(8784LL * 3600 * 1000));
}

TEST(DurationTest, FormatsTheLargestWholeUnit) {
  EXPECT_EQ(FormatDuration(0), "off");
  EXPECT_EQ(FormatDuration(-5), "off");
  EXPECT_EQ(FormatDuration(250), "250ms");
  EXPECT_EQ(FormatDuration(5000), "5s");
  EXPECT_EQ(FormatDuration(120000), "2m");
  EXPECT_EQ(FormatDuration(7200000), "2h");
  EXPECT_EQ(FormatDuration(90000), "90s");
  for (int64_t ms : {250, 5000, 120000, 7200000, 90000}) {
    EXPECT_EQ(ParseDuration(FormatDuration(ms))->count(), ms);
  }
}

}  // namespace
}  // namespace snapvol::core
