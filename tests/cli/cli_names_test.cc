// CLI integration tests: names are bytes. A name that is not UTF-8 or holds
// control characters goes through put, ls, get, cp, rm and log unchanged,
// is escaped in human output (`ls -b` style) and exact in --json.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "cli_harness.h"
#include "driver/core/text.h"

namespace snapvol::cli::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kBad = "bad\xff\xfename";  // not UTF-8
const std::string kCtl = "ctl\nname";        // a newline
const std::string kEsc = "esc\x1b[31m";      // a terminal escape
const std::string kDir = "d\xff";
const std::string kLink = "link\xfe";
const std::string kTarget = "\xff/target";

// Human output never carries a raw control character (but the line ends).
void ExpectNoControlBytes(const std::string& out) {
  for (unsigned char c : out) {
    ASSERT_FALSE((c < 0x20 && c != '\n') || c == 0x7f) << "raw control byte in: " << out;
  }
}

void MakeSource(const std::string& src) {
  MakeDirs(src + "/" + kDir);
  WriteFile(src + "/" + kBad, "bad bytes");
  WriteFile(src + "/" + kCtl, "newline");
  WriteFile(src + "/" + kEsc, "escape");
  WriteFile(src + "/" + kDir + "/f", "in dir");
  ASSERT_EQ(::symlink(kTarget.c_str(), (src + "/" + kLink).c_str()), 0);
}

TEST_F(CliTest, NamesThatAreNotUtf8RoundTripThroughEveryCommand) {
  Ok({"volume", "create", "v"});
  MakeSource(Path("src"));
  Ok({"volume", "put", "v", "src", "/s"});

  std::string ls = Ok({"volume", "ls", "v", "/s"});
  ExpectNoControlBytes(ls);
  EXPECT_THAT(ls, HasSubstr("bad\\377\\376name"));
  EXPECT_THAT(ls, HasSubstr("ctl\\nname"));
  EXPECT_THAT(ls, HasSubstr("esc\\033[31m"));
  EXPECT_THAT(ls, HasSubstr("d\\377/"));
  EXPECT_THAT(ls, HasSubstr("link\\376 -> \\377/target"));

  nlohmann::json j = Json({"volume", "ls", "v", "/s"});
  ASSERT_TRUE(j.is_array());
  std::vector<std::string> names;
  for (const auto& e : j) {
    std::string name = e["name"].get<std::string>();
    if (e.contains("name_base64")) {
      auto exact = core::Base64Decode(e["name_base64"].get<std::string>());
      ASSERT_TRUE(exact.has_value());
      name = *exact;
      EXPECT_TRUE(e.contains("path_base64"));
    }
    names.push_back(name);
    if (name == kLink) {
      ASSERT_TRUE(e.contains("target_base64")) << e.dump();
      EXPECT_EQ(core::Base64Decode(e["target_base64"].get<std::string>()), kTarget);
    }
  }
  std::vector<std::string> want = {kBad, kCtl, kDir, kEsc, kLink};
  std::sort(want.begin(), want.end());
  EXPECT_THAT(names, ElementsAreArray(want));

  Ok({"volume", "get", "v", "/s", Path("out")});
  EXPECT_EQ(ListTree(Path("out")), ListTree(Path("src")));
  EXPECT_EQ(ReadFile(Path("out/" + kBad)), "bad bytes");
  EXPECT_EQ(ReadFile(Path("out/" + kDir + "/f")), "in dir");
  char target[64] = {};
  ASSERT_GT(::readlink(Path("out/" + kLink).c_str(), target, sizeof(target) - 1), 0);
  EXPECT_EQ(std::string(target), kTarget);

  Ok({"volume", "cp", "v", "/s/" + kBad, "/s/" + kEsc + ".copy"});
  Ok({"volume", "rm", "v", "/s/" + kBad});
  Ok({"volume", "rm", "v", "-r", "/s/" + kDir});
  RunResult get = Run({"volume", "get", "v", "/s/" + kEsc + ".copy", "-"});
  EXPECT_EQ(get.code, 0) << Describe(get);
  EXPECT_EQ(get.out, "bad bytes");
  ls = Ok({"volume", "ls", "v", "/s"});
  EXPECT_THAT(ls, Not(HasSubstr("bad\\377")));
  EXPECT_THAT(ls, Not(HasSubstr("d\\377/")));

  // The log names the changed paths, escaped; --json carries them exactly.
  std::string log = Ok({"volume", "log", "v"});
  ExpectNoControlBytes(log);
  EXPECT_THAT(log, HasSubstr("A /s/bad\\377\\376name"));
  EXPECT_THAT(log, HasSubstr("D /s/bad\\377\\376name"));
  nlohmann::json jl = Json({"volume", "log", "v"});
  ASSERT_EQ(jl.size(), 4u);
  bool found = false;
  for (const auto& v : jl) {
    const auto& sum = v["summary"];
    if (!sum.contains("sample_base64")) continue;
    for (const auto& s : sum["sample_base64"]) {
      found = found || core::Base64Decode(s.get<std::string>()) == "D /s/" + kBad;
    }
  }
  EXPECT_TRUE(found) << jl.dump();
}

TEST_F(CliTest, ErrorsEscapeTheNamesTheyQuote) {
  Ok({"volume", "create", "v"});
  RunResult r = Run({"volume", "get", "v", "/missing\x1b[2J\xff", "-"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  ExpectNoControlBytes(r.err);
  EXPECT_THAT(r.err, HasSubstr("missing\\033[2J\\377"));
}

}  // namespace
}  // namespace snapvol::cli::testing
