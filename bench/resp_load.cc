// resp_load: a small deterministic RESP load client for the bench scripts.
//
// It sends a fixed number of copies of one command over C connections, P commands in
// flight on each, in lockstep rounds: every connection writes its P commands, then
// every connection reads its P replies. The same options always produce the same
// requests in the same order, so a server's work for them can be counted exactly
// (bench/instructions.sh under callgrind), and it loads millions of records quickly
// (bench/records.sh: RSS per record, restart time).
//
// Placeholders in the command's arguments:
//   __seq__       the request's number, from --start upwards (distinct keys)
//   __rand_int__  a pseudo-random 12-digit number below --range, each occurrence drawn
//                 separately (redis-benchmark's placeholder, so its ops read the same);
//                 the generator has a fixed seed (--seed)
//
//   resp_load --port P [--host H] [--connections 1] [--pipeline 1] [--requests 1]
//             [--start 0] [--range 100000000] [--seed 1] [--quiet] [--strict] -- ARG...
//
// Prints one line: requests, seconds, ops/s, replies that were errors (and the first
// one). --strict exits 3 when any reply is an error. Standard library and POSIX only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 1;
  int pipeline = 1;
  int64_t requests = 1;
  int64_t start = 0;
  uint64_t range = 100000000;
  uint64_t seed = 1;
  bool quiet = false;
  bool strict = false;
  std::vector<std::string> args;
};

[[noreturn]] void Usage(const char* problem) {
  std::fprintf(stderr,
               "resp_load: %s\nusage: resp_load --port P [--host H] [--connections C] "
               "[--pipeline P] [--requests N] [--start S] [--range R] [--seed X] [--quiet] "
               "[--strict] -- ARG...\n",
               problem);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (a == "--strict") {
      o.strict = true;
      continue;
    }
    if (i + 1 >= argc) Usage("an option lacks its value");
    const char* v = argv[++i];
    if (a == "--host") {
      o.host = v;
    } else if (a == "--port") {
      o.port = std::atoi(v);
    } else if (a == "--connections") {
      o.connections = std::atoi(v);
    } else if (a == "--pipeline") {
      o.pipeline = std::atoi(v);
    } else if (a == "--requests") {
      o.requests = std::atoll(v);
    } else if (a == "--start") {
      o.start = std::atoll(v);
    } else if (a == "--range") {
      o.range = std::strtoull(v, nullptr, 10);
    } else if (a == "--seed") {
      o.seed = std::strtoull(v, nullptr, 10);
    } else {
      Usage("unknown option");
    }
  }
  for (; i < argc; ++i) o.args.emplace_back(argv[i]);
  if (o.port <= 0 || o.connections <= 0 || o.pipeline <= 0 || o.requests < 0 || o.range == 0 ||
      o.args.empty()) {
    Usage("needs --port, positive counts and a command after --");
  }
  return o;
}

// splitmix64: small, fast, and the same sequence on every machine.
uint64_t Next(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Appends request `seq` of the command, in RESP, to out.
void Encode(const Options& o, int64_t seq, uint64_t* rng, std::string* out) {
  char number[32];
  std::string arg;
  *out += '*';
  *out += std::to_string(o.args.size());
  *out += "\r\n";
  for (const std::string& pattern : o.args) {
    arg.clear();
    size_t at = 0;
    while (at < pattern.size()) {
      if (pattern.compare(at, 7, "__seq__") == 0) {
        std::snprintf(number, sizeof(number), "%lld", static_cast<long long>(seq));
        arg += number;
        at += 7;
      } else if (pattern.compare(at, 12, "__rand_int__") == 0) {
        std::snprintf(number, sizeof(number), "%012llu",
                      static_cast<unsigned long long>(Next(rng) % o.range));
        arg += number;
        at += 12;
      } else {
        arg += pattern[at++];
      }
    }
    *out += '$';
    *out += std::to_string(arg.size());
    *out += "\r\n";
    *out += arg;
    *out += "\r\n";
  }
}

// Bytes of the first complete RESP2/RESP3 value in data[pos..], or 0 if incomplete.
// Sets *error when the value (not a nested one) is an error reply.
size_t ReplyBytes(std::string_view data, size_t pos, bool* error) {
  const size_t end = data.find("\r\n", pos);
  if (end == std::string_view::npos || end == pos) return 0;
  const char kind = data[pos];
  const long long n = std::atoll(std::string(data.substr(pos + 1, end - pos - 1)).c_str());
  size_t next = end + 2;
  switch (kind) {
    case '-':
      *error = true;
      return next - pos;
    case '$':
    case '=':
    case '!':
      if (kind == '!') *error = true;
      if (n < 0) return next - pos;
      next += static_cast<size_t>(n) + 2;
      return next <= data.size() ? next - pos : 0;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const long long items = (kind == '%' || kind == '|') ? 2 * n : n;
      bool nested = false;
      for (long long i = 0; i < items; ++i) {
        const size_t bytes = ReplyBytes(data, next, &nested);
        if (bytes == 0) return 0;
        next += bytes;
      }
      if (kind == '|') {  // an attribute precedes the real reply
        const size_t bytes = ReplyBytes(data, next, error);
        if (bytes == 0) return 0;
        next += bytes;
      }
      return next - pos;
    }
    default:  // + : _ , # ( and inline lines
      return next - pos;
  }
}

int Connect(const Options& o) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(o.port));
  if (fd < 0 || ::inet_pton(AF_INET, o.host.c_str(), &address.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    std::perror("resp_load: connect");
    std::exit(1);
  }
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  return fd;
}

void SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      std::perror("resp_load: send");
      std::exit(1);
    }
    sent += static_cast<size_t>(n);
  }
}

struct Reader {
  int fd;
  std::string buffer;
  size_t used = 0;
};

// Reads `count` whole replies from r; counts the error replies and keeps the first.
void ReadReplies(Reader* r, int count, int64_t* errors, std::string* first_error) {
  char chunk[65536];
  while (count > 0) {
    bool error = false;
    const size_t bytes = ReplyBytes(r->buffer, r->used, &error);
    if (bytes > 0) {
      if (error) {
        if (*errors == 0) {
          *first_error = r->buffer.substr(r->used, std::min<size_t>(bytes, 200) - 2);
        }
        ++*errors;
      }
      r->used += bytes;
      --count;
      continue;
    }
    r->buffer.erase(0, r->used);
    r->used = 0;
    const ssize_t n = ::recv(r->fd, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      std::fprintf(stderr, "resp_load: the server closed a connection with %d replies due\n",
                   count);
      std::exit(1);
    }
    r->buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::vector<Reader> readers;
  for (int c = 0; c < o.connections; ++c) readers.push_back(Reader{Connect(o), {}, 0});

  uint64_t rng = o.seed;
  int64_t seq = o.start;
  int64_t left = o.requests;
  int64_t errors = 0;
  std::string first_error;
  std::string out;
  std::vector<int> due(readers.size(), 0);
  const auto began = std::chrono::steady_clock::now();
  while (left > 0) {
    for (size_t c = 0; c < readers.size() && left > 0; ++c) {
      out.clear();
      const int n = static_cast<int>(std::min<int64_t>(o.pipeline, left));
      for (int k = 0; k < n; ++k) Encode(o, seq++, &rng, &out);
      SendAll(readers[c].fd, out);
      due[c] = n;
      left -= n;
    }
    for (size_t c = 0; c < readers.size(); ++c) {
      ReadReplies(&readers[c], due[c], &errors, &first_error);
      due[c] = 0;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  for (const Reader& r : readers) ::close(r.fd);
  if (!o.quiet || errors > 0) {
    std::printf("requests=%lld seconds=%.3f ops_per_s=%.0f errors=%lld%s%s\n",
                static_cast<long long>(o.requests), seconds,
                seconds > 0 ? static_cast<double>(o.requests) / seconds : 0.0,
                static_cast<long long>(errors), errors > 0 ? " first_error=" : "",
                first_error.c_str());
  }
  return (o.strict && errors > 0) ? 3 : 0;
}
