#include "driver/core/text.h"

#include <gtest/gtest.h>

#include <random>

namespace snapvol::core {
namespace {

TEST(TextTest, IsUtf8AcceptsWellFormedTextOnly) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain.txt"));
  EXPECT_TRUE(IsUtf8("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsUtf8("\xff"));
  EXPECT_FALSE(
      IsUtf8("bad\xfe"
             "name"));
  EXPECT_FALSE(IsUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsUtf8("\x80"));              // lone continuation byte
}

TEST(TextTest, EscapeBytesShowsWhatATerminalWouldInterpret) {
  EXPECT_EQ(EscapeBytes("plain name.txt"), "plain name.txt");
  EXPECT_EQ(EscapeBytes("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeBytes("a\nb\tc\\d"), "a\\nb\\tc\\\\d");
  EXPECT_EQ(EscapeBytes("\x1b[31mred"), "\\033[31mred");
  EXPECT_EQ(EscapeBytes("del\x7f"), "del\\177");
  EXPECT_EQ(EscapeBytes("bad\xff\xfe"), "bad\\377\\376");
  EXPECT_EQ(EscapeBytes("c1\xc2\x9b"
                        "x"),
            "c1\\302\\233x");  // U+009B, the 8-bit CSI
  EXPECT_EQ(EscapeBytes(std::string("nul\0x", 5)), "nul\\000x");
  EXPECT_EQ(QuoteBytes("a\rb"), "'a\\rb'");
}

TEST(TextTest, EscapedBytesHoldNoControlCharacters) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 24, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    std::string e = EscapeBytes(s);
    ASSERT_TRUE(IsUtf8(e)) << i;
    for (unsigned char c : e) ASSERT_FALSE(c < 0x20 || c == 0x7f) << i;
    ASSERT_EQ(e.find("\xc2\x80"), std::string::npos);
  }
}

TEST(TextTest, Base64RoundTripsEveryByteString) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("\xff\xfe"), "//4=");
  std::mt19937_64 rng(11);
  for (int i = 0; i < 1000; ++i) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.has_value());
    ASSERT_EQ(*back, s);
  }
}

TEST(TextTest, Base64DecodeRefusesWhatIsNotCanonical) {
  for (const char* bad :
       {"Zg", "Zg=", "Z===", "Zm9v!A==", "Zg==Zg==", "Zh==", "Zm9=", "====", "Zm 9v"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace snapvol::core
