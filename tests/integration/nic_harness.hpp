// Shared by the tests that run traffic through nicperf-nicd: one daemon in the foreground with
// namespace names no user's NIC has, a test through it, and the schema check of a report.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nic_harness {

using harness::Proc;
using harness::Server;
using harness::temp_path;
using harness::wait_for_output;

inline bool have_root() {
  if (geteuid() == 0) return true;
  MESSAGE("skipping: nicperf-nicd needs root (network namespaces and TAP devices)");
  return false;
}

// A nicperf-nicd built with libxdp (the xdp backend); says why not otherwise.
inline bool have_xdp_backend() {
  // The default --tso on is refused before anything is made; the reason tells the build apart.
  Proc p(NICPERF_NICD_BIN, {"up", "--backend", "xdp", "--foreground", "--socket", "/nonexistent"});
  p.wait(10);
  if (p.err().find("needs libxdp") == std::string::npos) return true;
  MESSAGE("skipping: " << p.err());
  return false;
}

// What `up` needs for the xdp backend: its program cannot take TSO's super-frames.
inline const std::vector<std::string> kXdpUp = {"--backend", "xdp", "--tso", "off", "--gro", "off"};

// One daemon in the foreground (the test owns its process), with names no user's NIC has.
struct Nic {
  std::string dir = [] {
    char tmpl[] = "/tmp/nicperf-nicd-test.XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  std::string socket = dir + "/nicd.sock";
  std::string cli = "nicperf-itc" + std::to_string(getpid());
  std::string srv = "nicperf-its" + std::to_string(getpid());
  std::unique_ptr<Proc> daemon;

  bool up(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"up", "--foreground", "--socket", socket, "--cli-ns",
                                     cli,  "--srv-ns",     srv};
    args.insert(args.end(), extra.begin(), extra.end());
    daemon = std::make_unique<Proc>(NICPERF_NICD_BIN, args);
    return wait_for_output(*daemon, "nicperf-nicd: up", 10);
  }
  int ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", socket});
    Proc p(NICPERF_NICD_BIN, args);
    return p.wait(15);
  }
  ~Nic() {
    if (daemon && daemon->running()) {
      ctl({"down"});
      daemon->wait(10);
    }
    Proc(NICPERF_NICD_BIN, {"down", "--socket", socket, "--cli-ns", cli, "--srv-ns", srv}).wait(10);
    rmdir(dir.c_str());
  }
};

// A test through the NIC; returns the client's JSON report.
inline nlohmann::json run_test(Nic& nic, std::vector<std::string> extra) {
  Server server({"--netns", nic.srv});
  REQUIRE(server.port() > 0);
  std::vector<std::string> args = {"-c",      "198.18.0.2", "-p",      server.port_arg(),
                                   "--netns", nic.cli,      "--nic",   nic.socket,
                                   "-J",      "--cost",     "counters"};
  args.insert(args.end(), extra.begin(), extra.end());
  Proc client(args);
  int rc = client.wait(60);
  INFO(client.err());
  CHECK(rc == 0);
  return client.json();
}

// end.nic against the JSON Schema, when Debian's python3-jsonschema is there.
inline void check_schema(const nlohmann::json& report, const std::string& def = "report") {
  if (access("/usr/bin/python3", X_OK) != 0 ||
      Proc("/usr/bin/python3", {"-c", "import jsonschema"}).wait(30) != 0) {
    MESSAGE("skipping the schema check: apt-get install -y python3-jsonschema");
    return;
  }
  std::string file = temp_path();
  std::ofstream(file) << report.dump();
  std::string src = NICPERF_SOURCE_DIR;
  Proc check("/usr/bin/python3", {src + "/tests/integration/schema_check.py",
                                  src + "/schema/nicperf.schema.json", def, file});
  int rc = check.wait(60);
  std::string says = check.out() + check.err();
  INFO(says);
  CHECK(rc == 0);
  unlink(file.c_str());
}

}  // namespace nic_harness
