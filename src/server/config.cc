// Parsing and checking of the replicated mode's flags (--node-id, --raft-bind, --peers).
#include "server/config.h"

#include <charconv>
#include <set>

namespace exactly::server {
namespace {

// The most voters a group may have. C-Raft's own fixture stops at 8; past 7 every
// commit waits on a majority of many disks for no gain in what survives.
constexpr size_t kVotersMax = 7;

template <typename T>
bool ParseUnsigned(std::string_view text, T* value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

// "host:port" with a non-empty host and a port 1..65535; false otherwise.
bool ParseHostPort(std::string_view text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  uint32_t value = 0;
  if (!ParseUnsigned(text.substr(colon + 1), &value) || value == 0 || value > 65535) return false;
  *host = std::string(text.substr(0, colon));
  *port = static_cast<uint16_t>(value);
  return true;
}

base::Status Bad(std::string message) { return base::Status::InvalidArgument(std::move(message)); }

}  // namespace

std::string PeerConfig::resp_address() const { return resp_host + ":" + std::to_string(resp_port); }

std::string PeerConfig::raft_address() const { return raft_host + ":" + std::to_string(raft_port); }

const PeerConfig* ReplicationConfig::Find(uint64_t id) const {
  for (const PeerConfig& peer : peers) {
    if (peer.id == id) return &peer;
  }
  return nullptr;
}

base::Result<std::vector<PeerConfig>> ParsePeers(std::string_view text) {
  std::vector<PeerConfig> peers;
  std::set<uint64_t> ids;
  std::set<std::string> resp_addresses;
  std::set<std::string> raft_addresses;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string_view::npos ? text.size() : comma;
    const std::string_view entry = text.substr(start, end - start);
    start = end + 1;
    const std::string quoted = "'" + std::string(entry) + "'";
    const size_t equals = entry.find('=');
    const size_t at = entry.find('@');
    if (equals == std::string_view::npos || at == std::string_view::npos || at < equals) {
      return Bad("--peers entry " + quoted + " is not id=resp-host:resp-port@raft-host:raft-port");
    }
    PeerConfig peer;
    if (!ParseUnsigned(entry.substr(0, equals), &peer.id) || peer.id == 0) {
      return Bad("--peers entry " + quoted + ": the id must be a positive integer");
    }
    if (!ParseHostPort(entry.substr(equals + 1, at - equals - 1), &peer.resp_host,
                       &peer.resp_port)) {
      return Bad("--peers entry " + quoted + ": the RESP address must be host:port (port 1-65535)");
    }
    if (!ParseHostPort(entry.substr(at + 1), &peer.raft_host, &peer.raft_port)) {
      return Bad("--peers entry " + quoted + ": the raft address must be host:port (port 1-65535)");
    }
    if (!ids.insert(peer.id).second) {
      return Bad("--peers names id " + std::to_string(peer.id) + " twice");
    }
    if (!resp_addresses.insert(peer.resp_address()).second) {
      return Bad("--peers names the RESP address " + peer.resp_address() + " twice");
    }
    if (!raft_addresses.insert(peer.raft_address()).second) {
      return Bad("--peers names the raft address " + peer.raft_address() + " twice");
    }
    peers.push_back(std::move(peer));
    if (comma == std::string_view::npos) break;
  }
  return peers;
}

base::Status ParseReplication(bool node_id_given, uint64_t node_id, bool raft_bind_given,
                              std::string_view raft_bind, bool peers_given, std::string_view peers,
                              uint16_t port, ReplicationConfig* out) {
  *out = ReplicationConfig();
  if (!node_id_given && !raft_bind_given && !peers_given) return base::Status::Ok();
  if (!node_id_given || !raft_bind_given || !peers_given) {
    return Bad("replicated mode needs all of --node-id, --raft-bind and --peers");
  }
  if (node_id == 0) return Bad("--node-id must be a positive integer");
  auto parsed = ParsePeers(peers);
  if (!parsed.ok()) return parsed.status();
  std::vector<PeerConfig>& voters = parsed.value();
  // An even group tolerates no more failures than the odd one below it, and needs
  // one more disk in every commit: 2 voters stop when either fails.
  if (voters.size() % 2 == 0 || voters.size() > kVotersMax) {
    return Bad("--peers lists " + std::to_string(voters.size()) +
               " voters; a group has an odd number of voters, 1 to " + std::to_string(kVotersMax) +
               " (3 or 5 in practice)");
  }
  ReplicationConfig config;
  config.node_id = node_id;
  config.peers = std::move(voters);
  const PeerConfig* self = config.Find(node_id);
  if (self == nullptr) {
    return Bad("--node-id " + std::to_string(node_id) + " is not one of the ids in --peers");
  }
  std::string bind_host;
  uint16_t bind_port = 0;
  if (!ParseHostPort(raft_bind, &bind_host, &bind_port)) {
    return Bad("--raft-bind '" + std::string(raft_bind) + "' is not host:port (port 1-65535)");
  }
  // The host may differ (0.0.0.0 in a container, a proxy in front: the peers dial the
  // --peers address); the port may not: C-Raft listens on the port it advertises.
  if (bind_port != self->raft_port) {
    return Bad("--raft-bind " + std::string(raft_bind) + " differs from node " +
               std::to_string(node_id) + "'s raft port " + std::to_string(self->raft_port) +
               " in --peers (the library listens on the port the peers dial)");
  }
  if (self->resp_port != port) {
    return Bad("--port " + std::to_string(port) + " differs from node " + std::to_string(node_id) +
               "'s RESP port " + std::to_string(self->resp_port) +
               " in --peers (followers redirect clients there)");
  }
  config.raft_bind = std::string(raft_bind);
  config.resp_address = self->resp_address();
  *out = std::move(config);
  return base::Status::Ok();
}

base::Status ParseJoin(bool node_id_given, uint64_t node_id, bool raft_bind_given,
                       std::string_view raft_bind, bool peers_given, uint16_t port,
                       ReplicationConfig* out) {
  *out = ReplicationConfig();
  if (peers_given) {
    return Bad(
        "--join and --peers exclude each other: --peers bootstraps a new group, "
        "--join waits to be added to a running one (CLUSTER ADDNODE)");
  }
  if (!node_id_given || !raft_bind_given) return Bad("--join needs --node-id and --raft-bind");
  if (node_id == 0) return Bad("--node-id must be a positive integer");
  std::string bind_host;
  uint16_t bind_port = 0;
  if (!ParseHostPort(raft_bind, &bind_host, &bind_port)) {
    return Bad("--raft-bind '" + std::string(raft_bind) + "' is not host:port (port 1-65535)");
  }
  out->node_id = node_id;
  out->raft_bind = std::string(raft_bind);
  out->join = true;
  out->resp_address = bind_host + ":" + std::to_string(port);
  return base::Status::Ok();
}

base::Status ParseMemberAddress(std::string_view text, PeerConfig* out) {
  const std::string quoted = "'" + std::string(text) + "'";
  const size_t at = text.find('@');
  if (at == std::string_view::npos) {
    return Bad("address " + quoted + " is not resp-host:resp-port@raft-host:raft-port");
  }
  PeerConfig peer;
  if (!ParseHostPort(text.substr(0, at), &peer.resp_host, &peer.resp_port)) {
    return Bad("address " + quoted + ": the RESP address must be host:port (port 1-65535)");
  }
  if (!ParseHostPort(text.substr(at + 1), &peer.raft_host, &peer.raft_port) ||
      peer.raft_host.find('@') != std::string::npos) {
    return Bad("address " + quoted + ": the raft address must be host:port (port 1-65535)");
  }
  *out = std::move(peer);
  return base::Status::Ok();
}

base::Status CheckTls(const ServeConfig& config) {
  const net::TlsFiles& files = config.tls_files;
  const bool any =
      config.tls_port != 0 || !files.cert.empty() || !files.key.empty() || !files.ca_cert.empty();
  if (config.port == 0 && config.tls_port == 0) {
    return Bad("--port 0 turns the plain RESP port off; give --tls-port to serve over TLS");
  }
  if (!any) return base::Status::Ok();
  if (files.cert.empty() || files.key.empty()) {
    return Bad("TLS needs both --tls-cert (the certificate chain) and --tls-key (its key)");
  }
  if (config.tls_port != 0 && config.tls_port == config.port) {
    return Bad("--tls-port " + std::to_string(config.tls_port) + " is also --port");
  }
  if (config.tls_port != 0 && config.tls_port == config.http_port) {
    return Bad("--tls-port " + std::to_string(config.tls_port) + " is also --http-port");
  }
  if (config.replication.enabled()) {
    return Bad("TLS is not available in replicated mode yet (docs/tls.md)");
  }
  return base::Status::Ok();
}

base::Status LoadUsers(ServeConfig* config) {
  if (config->aclfile.empty()) {
    config->acl = std::make_shared<const net::Acl>(net::Acl::FromPassword(config->requirepass));
    return base::Status::Ok();
  }
  if (!config->requirepass.empty()) {
    return Bad(
        "--requirepass and --aclfile together: give the default user its password in the "
        "ACL file (user default on >password ...)");
  }
  base::Result<net::Acl> acl = net::Acl::Load(config->aclfile);
  if (!acl.ok()) return acl.status();
  config->acl = std::make_shared<const net::Acl>(std::move(acl).value());
  return base::Status::Ok();
}

}  // namespace exactly::server
