// iperf3's per-socket options (-M, -S/--dscp, --dont-fragment, --cport, --bind-dev), kept apart
// from nicperf's own so each can be read and tested alone.
#pragma once

#include "nicperf/spec/spec.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

// TCP_MAXSEG, the TOS byte (IP_TOS and, on IPv6 sockets, IPV6_TCLASS) and IP_PMTUDISC_DO (UDP).
Status apply_iperf3_socket_options(int fd, const TestSpec& spec);
// The client's data socket number `connection`, before connect(): SO_BINDTODEVICE and, with
// --cport, the local port client_port + connection (iperf3's range with -P).
Status bind_client_socket(int fd, const TestSpec& spec, int connection);

}  // namespace nicperf
