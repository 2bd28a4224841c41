// iperf3's per-socket options (-M, -S/--dscp, --dont-fragment, --cport, --bind-dev), kept apart
// from nicperf's own so each can be read and tested alone.
#pragma once

#include <netinet/in.h>

#include <string>

#include "nicperf/session/session.hpp"
#include "nicperf/spec/spec.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

// TCP_MAXSEG, the TOS byte (IP_TOS and, on IPv6 sockets, IPV6_TCLASS) and IP_PMTUDISC_DO (UDP).
Status apply_iperf3_socket_options(int fd, const TestSpec& spec);
// The client's data socket number `connection`, before connect(): SO_BINDTODEVICE and, with
// --cport, the local port client_port + connection (iperf3's range with -P).
Status bind_client_socket(int fd, const TestSpec& spec, int connection);

// --cntl-ka on a control connection: SO_KEEPALIVE, then the values given (iperf3's
// iperf_set_control_keepalive, with its check that IDLE outlasts INTV * CNT).
Status set_control_keepalive(int fd, const KeepAlive& ka);

// Why -m cannot run here ("" when it can): the sysctl is off or the kernel has no MPTCP.
std::string mptcp_unavailable();

// -L on an IPv6 data socket before connect(): a flow label lease (IPV6_FLOWLABEL_MGR) and
// IPV6_FLOWINFO_SEND, and the label into the peer address connect() takes, as iperf3 does.
Status set_flowlabel(int fd, sockaddr_in6& peer, int label);

}  // namespace nicperf
