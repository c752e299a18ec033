// The HTTP action's request against real servers on loopback: plain, and TLS with a
// self-signed certificate made by openssl for the test.
#include "http/http_call.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

namespace solocron::detail {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A server on 127.0.0.1 with a free port, run on its own thread for the test's life.
template <class Server>
class Serving {
 public:
  template <class... Args>
  explicit Serving(Args&&... args) : server(std::forward<Args>(args)...) {}
  void start() {
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    // stop() is a no-op until the loop runs: wait for it, or the destructor's join could hang.
    while (!server.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~Serving() {
    server.stop();
    if (thread.joinable()) thread.join();
  }
  Server server;
  int port = 0;
  std::thread thread;
};

std::string url(int port, const std::string& path, const std::string& scheme = "http") {
  return scheme + "://127.0.0.1:" + std::to_string(port) + path;
}

HttpOutcome call(const HttpSpec& spec, std::size_t tail = 4096) {
  return call_http(spec, {{"X-Solocron-Job", "report"}}, tail, std::stop_token{});
}

TEST(HttpUrl, SplitsEveryPart) {
  std::string error;
  auto u = parse_http_url("HTTPS://app:p%40ss%3A@[::1]:8443/jobs/run?x=1#frag", &error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->user, "app");
  EXPECT_EQ(u->password, "p@ss:");
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/jobs/run?x=1");
  EXPECT_EQ(u->origin(), "https://[::1]:8443");
  EXPECT_EQ(u->redacted(), "https://app:***@[::1]:8443/jobs/run?x=1");
  u = parse_http_url("http://example.test?q", &error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/?q");
  EXPECT_EQ(parse_http_url("https://h", &error)->port, 443);
  for (const char* bad : {"http://h:99999/", "http://:80/", "mailto:x", "http://u:%zz@h/",
                          "http://[::1/", "http://h/\x01"}) {
    EXPECT_FALSE(parse_http_url(bad, &error)) << bad;
  }
}

TEST(HttpCall, SendsTheRequestAndTheRunHeaders) {
  Serving<httplib::Server> s;
  // Written on the server's thread, read here: the socket orders them, but ThreadSanitizer
  // cannot see that, so a lock says it.
  std::mutex mu;
  httplib::Request seen;
  s.server.Put("/jobs/report", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard g(mu);
    seen = req;
    res.set_content("done\n", "text/plain");
  });
  s.start();
  HttpSpec spec;
  spec.url = "http://app:p%40ss@127.0.0.1:" + std::to_string(s.port) + "/jobs/report?full=1";
  spec.method = "PUT";
  spec.headers = {{"Authorization-Extra", "x"}};
  spec.body = "{\"kind\":\"hourly\"}";
  const HttpOutcome o = call(spec);
  ASSERT_TRUE(o.responded) << o.error;
  EXPECT_EQ(o.status, 200);
  EXPECT_TRUE(o.success);
  EXPECT_EQ(o.body_tail, "done\n");
  std::lock_guard g(mu);
  EXPECT_EQ(seen.get_param_value("full"), "1");
  EXPECT_EQ(seen.body, spec.body);
  EXPECT_EQ(seen.get_header_value("Authorization-Extra"), "x");
  EXPECT_EQ(seen.get_header_value("X-Solocron-Job"), "report");
  // The URL's user and password become Basic authentication (base64 of "app:p@ss").
  EXPECT_EQ(seen.get_header_value("Authorization"), "Basic YXBwOnBAc3M=");
}

TEST(HttpCall, TheSuccessRangesDecide) {
  Serving<httplib::Server> s;
  s.server.Post("/", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("try later", "text/plain");
  });
  s.start();
  HttpSpec spec;
  spec.url = url(s.port, "/");
  HttpOutcome o = call(spec);
  ASSERT_TRUE(o.responded) << o.error;
  EXPECT_EQ(o.status, 503);
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.body_tail, "try later");
  spec.success = {{200, 299}, {503, 503}};
  EXPECT_TRUE(call(spec).success);
}

// A body of megabytes is kept as its last bytes only; the bytes are passed on raw (the
// executor makes them storable, as it does a command's output).
TEST(HttpCall, KeepsOnlyTheTailOfAHugeBinaryBody) {
  std::string body(3 << 20, 'a');
  body += std::string("\0\xff\x01the end", 10);
  Serving<httplib::Server> s;
  s.server.Post("/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/octet-stream");
  });
  s.start();
  HttpSpec spec;
  spec.url = url(s.port, "/");
  const HttpOutcome o = call(spec, 10);
  ASSERT_TRUE(o.responded) << o.error;
  EXPECT_EQ(o.body_tail, body.substr(body.size() - 10));
}

TEST(HttpCall, ARefusedConnectionSaysWhereWithoutThePassword) {
  int port;
  {
    Serving<httplib::Server> s;
    s.start();
    port = s.port;
  }  // closed: nothing listens there now
  HttpSpec spec;
  spec.url = "http://u:hunter2@127.0.0.1:" + std::to_string(port) + "/x";
  const HttpOutcome o = call(spec);
  EXPECT_FALSE(o.responded);
  EXPECT_NE(o.error.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << o.error;
  EXPECT_EQ(o.error.find("hunter2"), std::string::npos) << o.error;
}

// A stop (the job's timeout, a shutdown) ends a request the server never answers, long before
// the request's own timeout: the handler is released only after call_http returned.
TEST(HttpCall, AStopAbortsARequestInFlight) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, arrived = false;
  Serving<httplib::Server> s;
  s.server.Post("/slow", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lk(mu);
    arrived = true;
    cv.notify_all();
    cv.wait(lk, [&] { return release; });
    res.set_content("late", "text/plain");
  });
  s.start();
  HttpSpec spec;
  spec.url = url(s.port, "/slow");
  spec.timeout = 600s;
  std::stop_source stop;
  std::thread stopper([&] {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return arrived; });
    stop.request_stop();
  });
  const HttpOutcome o = call_http(spec, {}, 4096, stop.get_token());
  {
    std::lock_guard g(mu);
    release = true;
    cv.notify_all();
  }
  stopper.join();
  EXPECT_FALSE(o.responded);
  EXPECT_NE(o.error.find("stopped"), std::string::npos) << o.error;
}

// TLS: a certificate for 127.0.0.1 signed by nobody the system trusts. With the certificate as
// ca_file the call succeeds; without it the server is not trusted and nothing is sent.
class HttpsCall : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("solocron-https-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
                            " -addext subjectAltName=IP:127.0.0.1 -keyout " + key() + " -out " + cert() +
                            " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string key() const { return (dir_ / "key.pem").string(); }
  std::string cert() const { return (dir_ / "cert.pem").string(); }
  fs::path dir_;
};

TEST_F(HttpsCall, TrustsTheServerOnlyThroughItsCaFile) {
  Serving<httplib::SSLServer> s(cert().c_str(), key().c_str());
  ASSERT_TRUE(s.server.is_valid());
  std::atomic<int> requests{0};
  s.server.Post("/tls", [&](const httplib::Request&, httplib::Response& res) {
    ++requests;
    res.set_content("secure", "text/plain");
  });
  s.start();
  HttpSpec spec;
  spec.url = url(s.port, "/tls", "https");
  spec.ca_file = cert();
  HttpOutcome o = call(spec);
  ASSERT_TRUE(o.responded) << o.error;
  EXPECT_EQ(o.body_tail, "secure");
  spec.ca_file.clear();
  o = call(spec);
  EXPECT_FALSE(o.responded);
  EXPECT_NE(o.error.find("SSL"), std::string::npos) << o.error;
  EXPECT_EQ(requests, 1);
}

}  // namespace
}  // namespace solocron::detail
