/*
 * synapse_auth.hpp: a header-only C++17 RAII wrapper over synapse_auth.h.
 *
 * Move-only handles (synapse::Config, synapse::Client, synapse::Response) that
 * release themselves, and one exception type, synapse::Error, carrying the
 * synapse_result code, its stable name and the last error's details. Every method
 * mirrors a C function of the same name; all are blocking and, on Client,
 * thread-safe.
 *
 *   synapse::Client client(synapse::Config::from_env());
 *   std::string token = client.get_token();
 *   synapse::Response models = client.request("GET", "/v1/models");
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef SYNAPSE_AUTH_HPP
#define SYNAPSE_AUTH_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "synapse_auth.h"

namespace synapse {

/** The stable name of a result value, e.g. "rate_limited". */
inline std::string_view result_name(synapse_result result) noexcept {
  return synapse_result_name(static_cast<uint32_t>(result));
}

/** Any failure of the library: the C result code plus the details of the failure. */
class Error : public std::runtime_error {
 public:
  Error(synapse_result code, std::string message, uint16_t status = 0, int64_t retry_after_ms = -1,
        std::optional<std::string> required_scope = std::nullopt)
      : std::runtime_error(std::move(message)),
        code_(code),
        status_(status),
        retry_after_ms_(retry_after_ms),
        required_scope_(std::move(required_scope)) {}

  /** The synapse_result value (never SYNAPSE_OK). */
  synapse_result code() const noexcept { return code_; }
  /** The stable name of the code, e.g. "insufficient_scope" (core's error code). */
  std::string_view name() const noexcept { return result_name(code_); }
  /** The HTTP status behind the failure, or 0. */
  uint16_t status() const noexcept { return status_; }
  /** Milliseconds to wait before trying again, or -1 when there is no hint. */
  int64_t retry_after_ms() const noexcept { return retry_after_ms_; }
  /** The scope the server said was missing (SYNAPSE_INSUFFICIENT_SCOPE). */
  const std::optional<std::string>& required_scope() const noexcept { return required_scope_; }

  /** Builds the exception for `code` from this thread's last-error record. */
  static Error last(synapse_result code) {
    return Error(code, copy_out(synapse_last_error_message).value_or(std::string(result_name(code))),
                 synapse_last_error_status(), synapse_last_error_retry_after_ms(),
                 copy_out(synapse_last_error_required_scope));
  }

 private:
  template <typename F>
  static std::optional<std::string> copy_out(F getter) {
    std::string buf(256, '\0');
    size_t n = 0;
    synapse_result r = getter(buf.data(), buf.size(), &n);
    if (r == SYNAPSE_BUFFER_TOO_SMALL) {
      buf.assign(n, '\0');
      r = getter(buf.data(), buf.size(), &n);
    }
    if (r != SYNAPSE_OK) return std::nullopt;
    buf.resize(n);
    return buf;
  }

  synapse_result code_;
  uint16_t status_;
  int64_t retry_after_ms_;
  std::optional<std::string> required_scope_;
};

namespace detail {
inline void check(synapse_result result) {
  if (result != SYNAPSE_OK) throw Error::last(result);
}

/** Calls a C function that fills a (buf, len, out_len) string, growing the buffer once. */
template <typename F>
std::string fill_string(F&& call, size_t initial = 2048) {
  std::string buf(initial, '\0');
  size_t n = 0;
  synapse_result r = call(buf.data(), buf.size(), &n);
  if (r == SYNAPSE_BUFFER_TOO_SMALL) {
    buf.assign(n, '\0');
    r = call(buf.data(), buf.size(), &n);
  }
  check(r);
  buf.resize(n);
  return buf;
}

/** Owns a C handle; move-only. */
template <typename T, void (*Free)(T*)>
class Handle {
 public:
  Handle() noexcept = default;
  explicit Handle(T* raw) noexcept : raw_(raw) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) reset(std::exchange(other.raw_, nullptr));
    return *this;
  }
  ~Handle() { reset(); }
  T* get() const noexcept { return raw_; }
  T* release() noexcept { return std::exchange(raw_, nullptr); }
  void reset(T* raw = nullptr) noexcept {
    if (raw_ != nullptr) Free(raw_);
    raw_ = raw;
  }
  explicit operator bool() const noexcept { return raw_ != nullptr; }

 private:
  T* raw_ = nullptr;
};
}  // namespace detail

/** A client configuration (synapse_config). Setters return *this for chaining. */
class Config {
 public:
  /** An empty configuration with every default. */
  Config() : handle_(synapse_config_new()) {
    if (!handle_) throw Error(SYNAPSE_PANIC, "synapse_config_new failed");
  }
  /** A configuration read from the SYNAPSE_* environment variables. */
  static Config from_env() {
    synapse_config* raw = nullptr;
    detail::check(synapse_config_from_env(&raw));
    return Config(raw);
  }
  /** Sets any key of synapse_config_set() (e.g. "max_attempts", "3"). */
  Config& set(const std::string& key, const std::string& value) {
    detail::check(synapse_config_set(handle_.get(), key.c_str(), value.c_str()));
    return *this;
  }
  Config& client_credentials(const std::string& client_id, const std::string& client_secret) {
    detail::check(synapse_config_set_client_credentials(handle_.get(), client_id.c_str(), client_secret.c_str()));
    return *this;
  }
  Config& api_key(const std::string& key) {
    detail::check(synapse_config_set_api_key(handle_.get(), key.c_str()));
    return *this;
  }
  Config& base_url(const std::string& url) {
    detail::check(synapse_config_set_base_url(handle_.get(), url.c_str()));
    return *this;
  }
  Config& scopes(const std::string& scopes) {
    detail::check(synapse_config_set_scopes(handle_.get(), scopes.c_str()));
    return *this;
  }
  Config& ca_file(const std::string& path) {
    detail::check(synapse_config_set_ca_file(handle_.get(), path.c_str()));
    return *this;
  }
  Config& timeout_ms(uint64_t ms) {
    detail::check(synapse_config_set_timeout_ms(handle_.get(), ms));
    return *this;
  }
  /** The keys set() accepts. */
  static std::vector<std::string> keys() {
    std::vector<std::string> out;
    for (size_t i = 0, n = synapse_config_key_count(); i < n; ++i) out.emplace_back(synapse_config_key_at(i));
    return out;
  }
  const synapse_config* get() const noexcept { return handle_.get(); }
  synapse_config* get() noexcept { return handle_.get(); }

 private:
  explicit Config(synapse_config* raw) : handle_(raw) {}
  detail::Handle<synapse_config, synapse_config_free> handle_;
};

/** A successful API response (synapse_response). */
class Response {
 public:
  explicit Response(synapse_response* raw) noexcept : handle_(raw) {}
  uint16_t status() const noexcept { return synapse_response_status(handle_.get()); }
  /** The body bytes, valid as long as this Response. */
  std::string_view body() const noexcept {
    size_t n = 0;
    const uint8_t* p = synapse_response_body(handle_.get(), &n);
    return p == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(p), n);
  }
  /** A header's value by case-insensitive name, if present. */
  std::optional<std::string> header(const std::string& name) const {
    const char* value = nullptr;
    synapse_result r = synapse_response_header(handle_.get(), name.c_str(), &value);
    if (r == SYNAPSE_NOT_FOUND) return std::nullopt;
    detail::check(r);
    return std::string(value);
  }
  /** Every header as (lower-case name, value). */
  std::vector<std::pair<std::string, std::string>> headers() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0, n = synapse_response_header_count(handle_.get()); i < n; ++i) {
      const char* name = nullptr;
      const char* value = nullptr;
      detail::check(synapse_response_header_at(handle_.get(), i, &name, &value));
      out.emplace_back(name, value);
    }
    return out;
  }
  const synapse_response* get() const noexcept { return handle_.get(); }

 private:
  detail::Handle<synapse_response, synapse_response_free> handle_;
};

/** An access token and when it stops being used. */
struct Token {
  std::string value;
  int64_t expires_at_unix_ms = 0;
};

/** A SynapseStream client (synapse_client); thread-safe, share one per process. */
class Client {
 public:
  explicit Client(const Config& config) {
    synapse_client* raw = nullptr;
    detail::check(synapse_client_new(config.get(), &raw));
    handle_.reset(raw);
  }
  /** A client configured from the SYNAPSE_* environment variables. */
  static Client from_env() { return Client(Config::from_env()); }

  /** A valid access token (cached; refreshed ahead of expiry). */
  std::string get_token() const { return get_token_with_expiry().value; }
  /** A valid access token with its expiry. */
  Token get_token_with_expiry() const {
    Token token;
    token.value = detail::fill_string([&](char* buf, size_t len, size_t* n) {
      return synapse_client_get_token(handle_.get(), buf, len, n, &token.expires_at_unix_ms);
    });
    return token;
  }
  /** A valid access token for other scopes (space or comma separated). */
  Token get_token_for_scopes(const std::string& scopes) const {
    Token token;
    token.value = detail::fill_string([&](char* buf, size_t len, size_t* n) {
      return synapse_client_get_token_for_scopes(handle_.get(), scopes.c_str(), buf, len, n,
                                                 &token.expires_at_unix_ms);
    });
    return token;
  }
  /** An authenticated API call; statuses of 400 and above throw synapse::Error. */
  Response request(const std::string& method, const std::string& path, std::string_view body = {},
                   const std::string& content_type = {}) const {
    synapse_response* raw = nullptr;
    detail::check(synapse_client_request(handle_.get(), method.c_str(), path.c_str(),
                                         body.empty() ? nullptr : reinterpret_cast<const uint8_t*>(body.data()),
                                         body.size(), content_type.empty() ? nullptr : content_type.c_str(), &raw));
    return Response(raw);
  }
  /** Verifies a JWT; returns its claims as a JSON object string. */
  std::string verify(const std::string& jwt) const {
    return detail::fill_string([&](char* buf, size_t len, size_t* n) {
      return synapse_client_verify(handle_.get(), jwt.c_str(), buf, len, n);
    });
  }
  /** Forgets every cached token. */
  void invalidate() const { detail::check(synapse_client_invalidate(handle_.get())); }
  /** Replaces the client secret (credential rotation). */
  void set_client_secret(const std::string& secret) const {
    detail::check(synapse_client_set_client_secret(handle_.get(), secret.c_str()));
  }
  /** Replaces the API key (credential rotation). */
  void set_api_key(const std::string& key) const {
    detail::check(synapse_client_set_api_key(handle_.get(), key.c_str()));
  }
  /** The client's counters. */
  synapse_stats stats() const {
    synapse_stats s{};
    detail::check(synapse_client_stats(handle_.get(), &s));
    return s;
  }
  const synapse_client* get() const noexcept { return handle_.get(); }

 private:
  detail::Handle<synapse_client, synapse_client_free> handle_;
};

}  // namespace synapse

#endif  // SYNAPSE_AUTH_HPP
