// The agent without containers: its checks, its socket and who may use it.
// Serving real containers is e2e/oci_e2e_test.cc.
#include "driver/agent/agent.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace snapvol::agent {
namespace {

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agent-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.store = dir_ + "/store";
    options_.socket_path = dir_ + "/run/agent.sock";
    auto a = Agent::Open(options_);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
  }
  void TearDown() override {
    agent_.reset();
    std::filesystem::remove_all(dir_);
  }

  Request Check(const std::string& volume, const std::string& path = "/data") {
    Request r;
    r.op = Request::Op::kCheck;
    r.container = "c1";
    r.volume = volume;
    r.path = path;
    return r;
  }

  std::string dir_;
  AgentOptions options_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(AgentTest, ChecksVolumesAndCreatesOnlyWhenAsked) {
  Reply r = agent_->Handle(Check("data"), -1);
  EXPECT_TRUE(r.status.Is(core::Code::kNotFound)) << r.status.ToString();
  Request create = Check("data");
  create.create_if_missing = true;
  r = agent_->Handle(create, -1);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.mounts.size(), 1u);
  EXPECT_EQ(r.mounts[0].version, 0u);
  EXPECT_TRUE(agent_->Handle(Check("data"), -1).status.ok());  // now it exists
  // Create-if-missing never creates an environment.
  Request elsewhere = create;
  elsewhere.environment = "nowhere";
  EXPECT_TRUE(agent_->Handle(elsewhere, -1).status.Is(core::Code::kNotFound));
  // A pinned version must exist.
  Request pinned = Check("data");
  pinned.version = 5;
  pinned.read_only = true;
  EXPECT_TRUE(agent_->Handle(pinned, -1).status.Is(core::Code::kNotFound));
  pinned.read_only = false;
  EXPECT_TRUE(agent_->Handle(pinned, -1).status.Is(core::Code::kInvalidArgument));
}

TEST_F(AgentTest, UntrustedFieldsAreChecked) {
  for (const auto& [volume, path] :
       std::vector<std::pair<std::string, std::string>>{{"../x", "/a"},
                                                        {"", "/a"},
                                                        {"ok", "relative"},
                                                        {"ok", "/"},
                                                        {"ok", "/a/../b"},
                                                        {"ok", ""}}) {
    Request r = Check(volume, path);
    r.create_if_missing = true;
    EXPECT_TRUE(agent_->Handle(r, -1).status.Is(core::Code::kInvalidArgument))
        << volume << " " << path;
  }
  for (const char* container : {"", "a/b"}) {
    Request r = Check("ok");
    r.container = container;
    EXPECT_TRUE(agent_->Handle(r, -1).status.Is(core::Code::kInvalidArgument)) << container;
  }
  Request r = Check("ok");
  r.environment = "bad env";
  EXPECT_TRUE(agent_->Handle(r, -1).status.Is(core::Code::kInvalidArgument));
  r = Check("ok");
  r.commit_interval_ms = -1;
  EXPECT_TRUE(agent_->Handle(r, -1).status.Is(core::Code::kInvalidArgument));
}

TEST_F(AgentTest, AttachNeedsAFuseDescriptorAndClosesWhatItGets) {
  Request attach = Check("data");
  attach.op = Request::Op::kAttach;
  attach.create_if_missing = true;
  EXPECT_TRUE(agent_->Handle(attach, -1).status.Is(core::Code::kInvalidArgument));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  Reply r = agent_->Handle(attach, fds[1]);
  EXPECT_TRUE(r.status.Is(core::Code::kInvalidArgument)) << r.status.ToString();
  // The agent closed the write end: the read end sees EOF.
  char c;
  EXPECT_EQ(::read(fds[0], &c, 1), 0);
  ::close(fds[0]);
}

TEST_F(AgentTest, DetachOfAContainerWithoutMountsIsDone) {
  Request detach;
  detach.op = Request::Op::kDetach;
  detach.container = "never-attached";
  Reply r = agent_->Handle(detach, -1);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.mounts.empty());
}

TEST_F(AgentTest, TheSocketIsRootsAndASecondAgentIsRefused) {
  struct stat st;
  ASSERT_EQ(::stat(options_.socket_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::thread serve([&] { EXPECT_TRUE(agent_->Serve().ok()); });
  auto second = Agent::Open(options_);
  EXPECT_TRUE(second.status().Is(core::Code::kAlreadyExists)) << second.status().ToString();
  // Over the socket: ping, then a malformed message, then a real check.
  auto sock = ConnectAgent(options_.socket_path);
  ASSERT_TRUE(sock.ok()) << sock.status().ToString();
  std::string m;
  int fd = -1;
  ASSERT_TRUE(SendMessage(*sock, EncodeRequest(Request{})).ok());
  ASSERT_TRUE(ReceiveMessage(*sock, &m, &fd, 5000).ok());
  EXPECT_TRUE(DecodeReply(m)->status.ok());
  ASSERT_TRUE(SendMessage(*sock, "{\"op\":\"rm -rf\"}").ok());
  ASSERT_TRUE(ReceiveMessage(*sock, &m, &fd, 5000).ok());
  EXPECT_TRUE(DecodeReply(m)->status.Is(core::Code::kInvalidArgument));
  ASSERT_TRUE(SendMessage(*sock, EncodeRequest(Check("absent"))).ok());
  ASSERT_TRUE(ReceiveMessage(*sock, &m, &fd, 5000).ok());
  EXPECT_TRUE(DecodeReply(m)->status.Is(core::Code::kNotFound));
  ::close(*sock);
  agent_->Stop();
  serve.join();
}

// Another local user: the directory keeps them out; and if an admin opens
// it up, the agent still refuses them (SO_PEERCRED).
TEST_F(AgentTest, OtherUsersAreRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  std::thread serve([&] { EXPECT_TRUE(agent_->Serve().ok()); });
  auto as_nobody = [&]() -> int {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
      auto sock = ConnectAgent(options_.socket_path);
      if (!sock.ok()) ::_exit(1);  // cannot even connect
      if (!SendMessage(*sock, EncodeRequest(Request{})).ok()) ::_exit(2);
      std::string m;
      int fd = -1;
      if (!ReceiveMessage(*sock, &m, &fd, 5000).ok()) ::_exit(3);
      auto reply = DecodeReply(m);
      ::_exit(reply.ok() && reply->status.Is(core::Code::kPermissionDenied) ? 4 : 5);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(as_nobody(), 1);
  ASSERT_EQ(::chmod((dir_ + "/run").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(options_.socket_path.c_str(), 0666), 0);
  EXPECT_EQ(as_nobody(), 4);
  agent_->Stop();
  serve.join();
}

}  // namespace
}  // namespace snapvol::agent
