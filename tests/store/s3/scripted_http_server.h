// Test helpers without an S3 server: a loopback port and a scripted HTTP
// responder. For tests only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace snapvol::store {

// A socket listening on 127.0.0.1 (port chosen by the kernel, stored in
// *port), or -1.
inline int ListeningSocket(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 64) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

// Answers each request (one per connection) with the next scripted
// response and records the request's head.
class ScriptedHttpServer {
 public:
  explicit ScriptedHttpServer(std::deque<std::string> responses)
      : responses_(std::move(responses)) {
    fd_ = ListeningSocket(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedHttpServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

  static std::string Reply(int status, std::string_view reason, std::string_view body = "") {
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           std::string(body);
  }

 private:
  void Serve() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof(buf));
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      std::string reply;
      {
        std::lock_guard<std::mutex> l(mu_);
        requests_.push_back(head.substr(0, head.find("\r\n\r\n")));
        if (!responses_.empty()) {
          reply = responses_.front();
          responses_.pop_front();
        }
      }
      if (reply.empty()) reply = Reply(500, "Script Ended");
      (void)!::write(c, reply.data(), reply.size());
      ::shutdown(c, SHUT_WR);
      while (::read(c, buf, sizeof(buf)) > 0) {
      }
      ::close(c);
    }
  }

  int fd_ = -1, port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::deque<std::string> responses_;
  std::vector<std::string> requests_;
};

}  // namespace snapvol::store
