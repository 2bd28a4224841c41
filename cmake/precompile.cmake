# Precompiled third-party headers. Every translation unit parses nlohmann/json through the
# contract headers (about 3 s of CPU each under the sanitizers) and the command-line parts
# CLI11 (7.7 s each): precompiled once per target, CI's three builds
# take minutes less. Only third-party and standard headers go here, so editing a nicperf
# header never rebuilds a PCH. Off with -DNICPERF_PCH=OFF (ccache users: set
# sloppiness = pch_defines,time_macros to keep cache hits with it on).
option(NICPERF_PCH "Precompile the third-party headers" ON)

# Asio stays out: it brings <netinet/tcp.h>, which clashes with <linux/tcp.h> in the units
# that read TCP_INFO.
# nicperf_precompile(TARGET [CLI])
function(nicperf_precompile target)
  if(NOT NICPERF_PCH)
    return()
  endif()
  cmake_parse_arguments(P "CLI" "" "" ${ARGN})
  set(headers <algorithm> <array> <chrono> <cstdint> <functional> <map> <memory> <optional>
              <string> <string_view> <utility> <vector> <nlohmann/json.hpp>)
  if(P_CLI)
    list(APPEND headers <CLI/CLI.hpp>)
  endif()
  target_precompile_headers(${target} PRIVATE ${headers})
endfunction()
