// The passthrough bytes on synthetic messages (the layouts of FUSE 7.40),
// and the backing-file ioctls on a descriptor that is not /dev/fuse.
#include "driver/fs/fuse_passthrough.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace snapvol::fs {
namespace {

constexpr uint32_t kInitExt = 1u << 30;
constexpr uint32_t kPassthrough2 = 1u << 5;  // FUSE_PASSTHROUGH (bit 37) in flags2
constexpr uint32_t kKeepCache = 1u << 1;
constexpr uint32_t kOpenPassthrough = 1u << 7;

// An INIT request: the header, then major, minor, max_readahead, flags,
// flags2.
std::vector<char> InitRequest(uint64_t unique, uint32_t flags, uint32_t flags2,
                              uint32_t opcode = FUSE_INIT) {
  std::vector<char> buf(sizeof(fuse_in_header) + 64, 0);
  fuse_in_header h{};
  h.len = static_cast<uint32_t>(buf.size());
  h.opcode = opcode;
  h.unique = unique;
  std::memcpy(buf.data(), &h, sizeof(h));
  const uint32_t in[5] = {7, 40, 0, flags, flags2};
  std::memcpy(buf.data() + sizeof(h), in, sizeof(in));
  return buf;
}

TEST(FusePassthroughTest, AnInitOfferingPassthroughIsRecognised) {
  auto req = InitRequest(17, kInitExt, kPassthrough2);
  EXPECT_EQ(InitOfferingPassthrough(req.data(), req.size()), 17u);
  auto no_ext = InitRequest(17, 0, kPassthrough2);
  EXPECT_EQ(InitOfferingPassthrough(no_ext.data(), no_ext.size()), 0u);
  auto no_flag = InitRequest(17, kInitExt, 0);
  EXPECT_EQ(InitOfferingPassthrough(no_flag.data(), no_flag.size()), 0u);
  auto lookup = InitRequest(17, kInitExt, kPassthrough2, FUSE_LOOKUP);
  EXPECT_EQ(InitOfferingPassthrough(lookup.data(), lookup.size()), 0u);
  // Too short to hold flags2.
  EXPECT_EQ(InitOfferingPassthrough(req.data(), sizeof(fuse_in_header) + 16), 0u);
}

struct Reply {
  fuse_out_header h{};
  std::vector<char> args;
  iovec iov[2];
  Reply(uint64_t unique, size_t args_len, int32_t error = 0) : args(args_len, 0) {
    h.unique = unique;
    h.error = error;
    h.len = static_cast<uint32_t>(sizeof(h) + args_len);
    iov[0] = {&h, sizeof(h)};
    iov[1] = {args.data(), args.size()};
  }
  fuse_open_out* open_out() {
    return reinterpret_cast<fuse_open_out*>(args.data() + args.size() - sizeof(fuse_open_out));
  }
};

TEST(FusePassthroughTest, AnOpenReplyPassesThroughToItsBackingId) {
  Reply r(5, sizeof(fuse_open_out));
  r.open_out()->open_flags = kKeepCache | 1u;  // and FOPEN_DIRECT_IO left alone
  EXPECT_EQ(AmendReply(r.iov, 2, 9, 0), AmendedReply::kOpen);
  EXPECT_EQ(r.open_out()->open_flags, kOpenPassthrough | 1u);
  int32_t backing;
  std::memcpy(&backing, &r.open_out()->padding, sizeof(backing));
  EXPECT_EQ(backing, 9);
}

TEST(FusePassthroughTest, ACreateReplyPassesThroughAfterItsEntry) {
  Reply r(5, sizeof(fuse_entry_out) + sizeof(fuse_open_out));
  EXPECT_EQ(AmendReply(r.iov, 2, 3, 0), AmendedReply::kOpen);
  EXPECT_EQ(r.open_out()->open_flags, kOpenPassthrough);
  // The entry is untouched.
  for (size_t i = 0; i < sizeof(fuse_entry_out); ++i) ASSERT_EQ(r.args[i], 0);
}

TEST(FusePassthroughTest, OtherRepliesAreLeftAlone) {
  Reply no_backing(5, sizeof(fuse_open_out));
  EXPECT_EQ(AmendReply(no_backing.iov, 2, 0, 0), AmendedReply::kNone);
  EXPECT_EQ(no_backing.open_out()->open_flags, 0u);
  Reply error(5, sizeof(fuse_open_out), -EIO);
  EXPECT_EQ(AmendReply(error.iov, 2, 4, 5), AmendedReply::kNone);
  Reply other_size(5, sizeof(fuse_attr_out));
  EXPECT_EQ(AmendReply(other_size.iov, 2, 4, 0), AmendedReply::kNone);
  Reply header_only(5, 0);
  EXPECT_EQ(AmendReply(header_only.iov, 1, 4, 5), AmendedReply::kNone);
}

TEST(FusePassthroughTest, TheInitReplyAcceptsPassthrough) {
  Reply r(17, 64);
  EXPECT_EQ(AmendReply(r.iov, 2, 0, 18), AmendedReply::kNone);  // another request
  EXPECT_EQ(AmendReply(r.iov, 2, 0, 17), AmendedReply::kInit);
  uint32_t words[16];
  std::memcpy(words, r.args.data(), sizeof(words));
  EXPECT_EQ(words[3] & kInitExt, kInitExt);  // flags
  // flags2 and max_stack_depth follow two u16s, max_write, time_gran, two u16s.
  EXPECT_EQ(words[8] & kPassthrough2, kPassthrough2);
  EXPECT_EQ(words[9], 1u);
}

TEST(FusePassthroughTest, RegisteringOnAnythingButDevFuseFailsForGood) {
  int dev = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(dev, 0);
  BackingFiles backing(dev);
  auto id = backing.Open(dev);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().sys_errno(), ENOTTY);
  EXPECT_TRUE(BackingFiles::Permanent(id.status().sys_errno()));
  backing.Close(1);  // harmless
  ::close(dev);
}

TEST(FusePassthroughTest, WhichRegistrationErrorsArePermanent) {
  for (int e : {EPERM, ELOOP, ENOTTY, EINVAL, EOPNOTSUPP}) EXPECT_TRUE(BackingFiles::Permanent(e));
  for (int e : {ENOMEM, EMFILE, ENFILE, EIO, 0}) EXPECT_FALSE(BackingFiles::Permanent(e));
}

}  // namespace
}  // namespace snapvol::fs
