#include "tools/kinema-sim/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <mutex>
#include <type_traits>

namespace kinema::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

HttpRequest ConvertRequest(const http::request<http::string_body>& r, const std::string& remote) {
  HttpRequest req;
  req.method = std::string(r.method_string());
  req.target = std::string(r.target());
  req.remote = remote;
  size_t q = req.target.find('?');
  req.path = PercentDecode(req.target.substr(0, q), false);
  if (q != std::string::npos) {
    std::string qs = req.target.substr(q + 1);
    size_t start = 0;
    while (start <= qs.size()) {
      size_t amp = qs.find('&', start);
      std::string pair = qs.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      if (!pair.empty()) {
        size_t eq = pair.find('=');
        std::string k = PercentDecode(pair.substr(0, eq), true);
        std::string v = eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
        req.query[k] = v;
      }
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
  }
  for (const auto& f : r) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[name] = std::string(f.value());
  }
  req.body = r.body();
  return req;
}

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

// One client connection. All members are used on the connection's strand.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `initial`: bytes already read from the connection (by TLS detection).
  Session(Stream stream, RequestHandler* handler, std::string remote, beast::flat_buffer initial = {})
      : stream_(std::move(stream)),
        handler_(handler),
        remote_(std::move(remote)),
        buffer_(std::move(initial)),
        delay_timer_(stream_.get_executor()),
        deadline_timer_(stream_.get_executor()),
        drop_timer_(stream_.get_executor()),
        tick_timer_(stream_.get_executor()) {}

  void Run() {
    auto self = this->shared_from_this();
    net::dispatch(stream_.get_executor(), [self] { self->Begin(); });
  }

 private:
  void Begin() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      auto self = this->shared_from_this();
      stream_.async_handshake(ssl::stream_base::server, buffer_.data(), [self](beast::error_code ec, std::size_t used) {
        if (ec) {
          spdlog::debug("tls handshake from {} failed: {}", self->remote_, ec.message());
          return self->CloseNow();
        }
        self->buffer_.consume(used);
        self->Read();
      });
    } else {
      Read();
    }
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(512u * 1024 * 1024);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(600));
    auto self = this->shared_from_this();
    http::async_read(stream_, buffer_, *parser_, [self](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return CloseNow();
    const auto& raw = parser_->get();
    keep_alive_ = raw.keep_alive();
    request_ = ConvertRequest(raw, remote_);
    started_ = std::chrono::steady_clock::now();
    auto delay = handler_->DelayFor(request_);
    if (delay.count() > 0) {
      delay_timer_.expires_after(delay);
      auto self = this->shared_from_this();
      delay_timer_.async_wait([self](beast::error_code) { self->Process(); });
      return;
    }
    Process();
  }

  void Process() {
    HandlerResult result;
    try {
      result = handler_->Handle(request_);
    } catch (const std::exception& e) {
      spdlog::error("handler threw on {} {}: {}", request_.method, request_.target, e.what());
      result.response.status = 500;
      result.response.body =
          R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"internal error","reason":"InternalError","code":500})";
    }
    if (result.stream) return StartStream(std::move(result.stream));
    WriteResponse(std::move(result.response));
  }

  void WriteResponse(HttpResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-cache, private");
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count();
    spdlog::debug("http method={} target={} code={} bytes={} ms={}", request_.method, request_.target, r.status,
                  res->body().size(), ms);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(120));
    if (r.trickle.count() > 0) return WriteSlowly(res, r.trickle);
    auto self = this->shared_from_this();
    http::async_write(stream_, *res, [self, res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) return self->CloseNow();
      self->Read();
    });
  }

  // Fault injection (a slow peer): the header at once, then the body in ten
  // pieces spread over `over`; the connection closes afterwards.
  void WriteSlowly(std::shared_ptr<http::response<http::string_body>> res, std::chrono::milliseconds over) {
    res->keep_alive(false);
    auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
    beast::get_lowest_layer(stream_).expires_after(over + std::chrono::seconds(60));
    auto self = this->shared_from_this();
    http::async_write_header(stream_, *sr, [self, res, sr, over](beast::error_code ec, std::size_t) {
      if (ec) return self->CloseNow();
      self->TricklePiece(res, 0, over / 10);
    });
  }

  void TricklePiece(std::shared_ptr<http::response<http::string_body>> res, size_t piece,
                    std::chrono::milliseconds pause) {
    const std::string& body = res->body();
    const size_t per = body.size() / 10 + 1;
    const size_t from = piece * per;
    if (from >= body.size()) return CloseNow();
    delay_timer_.expires_after(pause);
    auto self = this->shared_from_this();
    delay_timer_.async_wait([self, res, piece, pause, from, per](beast::error_code ec) {
      if (ec) return self->CloseNow();
      const std::string& b = res->body();
      net::async_write(self->stream_, net::buffer(b.data() + from, std::min(per, b.size() - from)),
                       [self, res, piece, pause](beast::error_code wec, std::size_t) {
                         if (wec) return self->CloseNow();
                         self->TricklePiece(res, piece + 1, pause);
                       });
    });
  }

  // ---- streaming (watch) ----

  void StartStream(std::shared_ptr<StreamSource> source) {
    source_ = std::move(source);
    streaming_ = true;
    beast::get_lowest_layer(stream_).expires_never();
    auto header = std::make_shared<std::string>(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    writing_ = true;
    auto self = this->shared_from_this();
    net::async_write(stream_, net::buffer(*header), [self, header](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->EndStream(false);
      self->OnStreamHeaderSent();
    });
  }

  void OnStreamHeaderSent() {
    std::weak_ptr<Session> weak = this->shared_from_this();
    auto executor = stream_.get_executor();
    source_->Start([weak, executor]() {
      auto s = weak.lock();
      if (!s) return;
      if (s->wake_pending_.exchange(true)) return;
      net::post(executor, [weak]() {
        if (auto s2 = weak.lock()) {
          s2->wake_pending_ = false;
          s2->Pump();
        }
      });
    });
    auto self = this->shared_from_this();
    deadline_timer_.expires_at(source_->Deadline());
    deadline_timer_.async_wait([self](beast::error_code ec) {
      if (ec) return;
      self->ending_ = true;
      self->Pump();
    });
    if (auto drop = source_->DropAfter()) {
      drop_timer_.expires_after(*drop);
      drop_timer_.async_wait([self](beast::error_code ec) {
        if (ec) return;
        spdlog::info("fault: dropping watch stream {} {}", self->request_.method, self->request_.target);
        self->EndStream(false);
      });
    }
    ScheduleTick();
    // Any read completion means the client went away (it sends nothing while streaming).
    stream_.async_read_some(net::buffer(probe_), [self](beast::error_code, std::size_t) { self->EndStream(false); });
    Pump();
  }

  void ScheduleTick() {
    auto period = source_->TickPeriod();
    if (period.count() <= 0 || !streaming_) return;
    tick_timer_.expires_after(period);
    auto self = this->shared_from_this();
    tick_timer_.async_wait([self](beast::error_code ec) {
      if (ec || !self->streaming_) return;
      self->source_->Tick();
      self->ScheduleTick();
    });
  }

  void Pump() {
    if (!streaming_ || writing_) return;
    bool finished = false;
    std::string data = source_->Drain(&finished);
    if (ending_) finished = true;
    if (data.empty() && !finished) return;
    auto out = std::make_shared<std::string>();
    if (!data.empty()) {
      char hex[20];
      std::snprintf(hex, sizeof(hex), "%zx\r\n", data.size());
      *out += hex;
      *out += data;
      *out += "\r\n";
    }
    if (finished) *out += "0\r\n\r\n";
    writing_ = true;
    auto self = this->shared_from_this();
    net::async_write(stream_, net::buffer(*out), [self, out, finished](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->EndStream(false);
      if (finished) return self->EndStream(true);
      self->Pump();
    });
  }

  void EndStream(bool graceful) {
    if (!streaming_) return;
    streaming_ = false;
    source_->Stop();
    beast::error_code ignored;
    deadline_timer_.cancel();
    drop_timer_.cancel();
    tick_timer_.cancel();
    spdlog::debug("watch ended target={} graceful={}", request_.target, graceful);
    CloseNow();
  }

  void CloseNow() {
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(stream_).socket();
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }

  Stream stream_;
  RequestHandler* handler_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  bool keep_alive_ = true;
  std::chrono::steady_clock::time_point started_;
  net::steady_timer delay_timer_;
  // streaming state
  std::shared_ptr<StreamSource> source_;
  bool streaming_ = false;
  bool writing_ = false;
  bool ending_ = false;
  std::atomic<bool> wake_pending_{false};
  char probe_[64];
  net::steady_timer deadline_timer_;
  net::steady_timer drop_timer_;
  net::steady_timer tick_timer_;
};

}  // namespace

struct HttpServer::Impl {
  explicit Impl(net::io_context& ioc) : acceptor(net::make_strand(ioc)), ssl_ctx(ssl::context::tls_server) {}
  tcp::acceptor acceptor;
  ssl::context ssl_ctx;
};

HttpServer::HttpServer(Options options, RequestHandler* handler)
    : options_(std::move(options)), handler_(handler), ioc_(options_.threads), impl_(std::make_unique<Impl>(ioc_)) {}

HttpServer::~HttpServer() { Stop(); }

namespace {

void Accept(tcp::acceptor* acceptor, net::io_context* ioc, ssl::context* ctx, bool tls, RequestHandler* handler) {
  acceptor->async_accept(net::make_strand(*ioc), [=](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted) return;
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      beast::error_code ignored;
      std::string remote = socket.remote_endpoint(ignored).address().to_string() + ":" +
                           std::to_string(socket.remote_endpoint(ignored).port());
      socket.set_option(tcp::no_delay(true), ignored);
      if (tls) {
        // TLS and plain HTTP on one port (issue 20): a ClientHello starts a
        // TLS session; anything else is served as plain HTTP, so processes
        // that cannot trust the sim's CA (Prometheus, a controller's cloud
        // client) reach the non-Kubernetes APIs. Authentication rules are
        // the same on both.
        auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
        auto buffer = std::make_shared<beast::flat_buffer>();
        stream->expires_after(std::chrono::seconds(30));
        beast::async_detect_ssl(*stream, *buffer, [stream, buffer, ctx, handler, remote](beast::error_code dec, bool is_tls) {
          if (dec) return;
          if (is_tls) {
            std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                beast::ssl_stream<beast::tcp_stream>(std::move(*stream), *ctx), handler, remote, std::move(*buffer))
                ->Run();
          } else {
            std::make_shared<Session<beast::tcp_stream>>(std::move(*stream), handler, remote, std::move(*buffer))->Run();
          }
        });
      } else {
        std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), handler, remote)->Run();
      }
    }
    if (acceptor->is_open()) Accept(acceptor, ioc, ctx, tls, handler);
  });
}

}  // namespace

Status HttpServer::Start() {
  beast::error_code ec;
  auto address = net::ip::make_address(options_.host, ec);
  if (ec) return Status::InvalidArgument("listen address '" + options_.host + "': " + ec.message());
  if (options_.tls) {
    impl_->ssl_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                               ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    impl_->ssl_ctx.use_certificate_chain(net::buffer(options_.cert_chain_pem), ec);
    if (ec) return Status::InvalidArgument("tls certificate: " + ec.message());
    impl_->ssl_ctx.use_private_key(net::buffer(options_.key_pem), ssl::context::pem, ec);
    if (ec) return Status::InvalidArgument("tls key: " + ec.message());
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  auto& acc = impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acc.local_endpoint().port();
  Accept(&acc, &ioc_, &impl_->ssl_ctx, options_.tls, handler_);
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
  return Status::OK();
}

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  net::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  ioc_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

}  // namespace kinema::sim
