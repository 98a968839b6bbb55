#include "driver/agent/agent_protocol.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace snapvol::agent {
namespace {

TEST(AgentProtocolTest, RequestsRoundTrip) {
  Request r;
  r.op = Request::Op::kAttach;
  r.container = "c1";
  r.environment = "team";
  r.volume = "models";
  r.path = "/models";
  r.read_only = true;
  r.version = 3;
  r.commit_interval_ms = 0;
  r.create_if_missing = true;
  r.timeout_ms = 99;
  auto back = DecodeRequest(EncodeRequest(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->op, Request::Op::kAttach);
  EXPECT_EQ(back->container, "c1");
  EXPECT_EQ(back->environment, "team");
  EXPECT_EQ(back->volume, "models");
  EXPECT_EQ(back->path, "/models");
  EXPECT_TRUE(back->read_only);
  EXPECT_EQ(back->version, 3u);
  EXPECT_EQ(back->commit_interval_ms, 0);
  EXPECT_TRUE(back->create_if_missing);
  EXPECT_EQ(back->timeout_ms, 99);
}

TEST(AgentProtocolTest, RepliesRoundTrip) {
  Reply r;
  r.status = core::Status(core::Code::kNotFound, "no volume x", 2);
  r.mounts.push_back({"v", "/v", "id1", true, 4, ""});
  r.mounts.push_back({"w", "/w", "id2", false, 0, "kept"});
  auto back = DecodeReply(EncodeReply(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->status.Is(core::Code::kNotFound));
  EXPECT_EQ(back->status.message(), "no volume x");
  EXPECT_EQ(back->status.sys_errno(), 2);
  ASSERT_EQ(back->mounts.size(), 2u);
  EXPECT_TRUE(back->mounts[0].committed);
  EXPECT_EQ(back->mounts[0].version, 4u);
  EXPECT_EQ(back->mounts[1].error, "kept");
  EXPECT_TRUE(DecodeReply(EncodeReply(Reply{}))->status.ok());
}

TEST(AgentProtocolTest, MalformedMessagesAreRefused) {
  for (const char* bad : {"", "[]", "{", R"({"op":"format"})", R"({"op":7})",
                          R"({"op":"attach","version":"3"})", R"({"op":"check","volume":[]})"}) {
    auto r = DecodeRequest(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  for (const char* bad : {"", R"({"code":99})", R"({"code":-1})", R"({"mounts":{}})",
                          R"({"mounts":[1]})", R"({"code":"x"})"}) {
    EXPECT_FALSE(DecodeReply(bad).ok()) << bad;
  }
  EXPECT_FALSE(DecodeRequest(std::string(kMaxMessageBytes + 1, ' ')).ok());
}

class SocketPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv_), 0);
  }
  void TearDown() override {
    for (int fd : sv_) {
      if (fd >= 0) ::close(fd);
    }
  }
  int sv_[2] = {-1, -1};
};

TEST_F(SocketPairTest, MessagesKeepTheirBoundariesAndCarryADescriptor) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_TRUE(SendMessage(sv_[0], "first", pipe_fds[1]).ok());
  ASSERT_TRUE(SendMessage(sv_[0], "second").ok());
  ::close(pipe_fds[1]);
  std::string m;
  int fd = -1;
  ASSERT_TRUE(ReceiveMessage(sv_[1], &m, &fd, 1000).ok());
  EXPECT_EQ(m, "first");
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ASSERT_EQ(::write(fd, "x", 1), 1);  // the pipe's write end came across
  char c;
  ASSERT_EQ(::read(pipe_fds[0], &c, 1), 1);
  ::close(fd);
  ASSERT_TRUE(ReceiveMessage(sv_[1], &m, &fd, 1000).ok());
  EXPECT_EQ(m, "second");
  EXPECT_EQ(fd, -1);
  ::close(pipe_fds[0]);
}

TEST_F(SocketPairTest, TimeoutsClosedPeersAndOversizeMessages) {
  std::string m;
  int fd = -1;
  EXPECT_TRUE(ReceiveMessage(sv_[1], &m, &fd, 10).Is(core::Code::kAborted));
  EXPECT_FALSE(SendMessage(sv_[0], std::string(kMaxMessageBytes + 1, 'x')).ok());
  // A peer that sends more than the limit itself: refused, not truncated.
  const std::string big(kMaxMessageBytes + 10, 'y');
  ASSERT_EQ(::send(sv_[0], big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
  EXPECT_TRUE(ReceiveMessage(sv_[1], &m, &fd, 1000).Is(core::Code::kInvalidArgument));
  ::close(sv_[0]);
  sv_[0] = -1;
  EXPECT_TRUE(ReceiveMessage(sv_[1], &m, &fd, 1000).Is(core::Code::kUnavailable));
}

TEST(ConnectAgentTest, SaysHowToStartTheAgent) {
  auto r = ConnectAgent("/tmp/definitely-no-agent-here.sock");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(core::Code::kUnavailable));
  EXPECT_NE(r.status().message().find("snapvol-agent"), std::string::npos);
  EXPECT_NE(r.status().message().find("systemctl start snapvol-agent.socket"), std::string::npos);
  EXPECT_FALSE(ConnectAgent(std::string(200, 'x')).ok());
}

}  // namespace
}  // namespace snapvol::agent
