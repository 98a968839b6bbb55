#include "driver/csi/server.h"

#include <gtest/gtest.h>

namespace snapvol::csi {
namespace {

TEST(ServerTest, ParsesModes) {
  EXPECT_EQ(*ParseMode("controller"), Mode::kController);
  EXPECT_EQ(*ParseMode("node"), Mode::kNode);
  EXPECT_EQ(*ParseMode("all"), Mode::kAll);
  EXPECT_TRUE(ParseMode("both").status().Is(core::Code::kInvalidArgument));
}

TEST(ServerTest, EndpointsAreUnixSockets) {
  EXPECT_EQ(*UnixSocketPath("unix:///csi/csi.sock"), "/csi/csi.sock");
  EXPECT_EQ(*UnixSocketPath("unix:/csi/csi.sock"), "/csi/csi.sock");
  EXPECT_EQ(*UnixSocketPath("/csi/csi.sock"), "/csi/csi.sock");
  EXPECT_FALSE(UnixSocketPath("tcp://127.0.0.1:10000").ok());
  EXPECT_FALSE(UnixSocketPath("unix://relative.sock").ok());
  EXPECT_FALSE(UnixSocketPath("").ok());
}

TEST(ServerTest, RefusesMissingParts) {
  ServerOptions options;
  options.endpoint = "unix:///tmp/never.sock";
  options.mode = Mode::kController;
  EXPECT_FALSE(Server::Start(options, Server::Parts{}).ok());  // no engine
}

}  // namespace
}  // namespace snapvol::csi
