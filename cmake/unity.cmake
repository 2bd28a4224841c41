# Unity builds: CMake compiles the files of a target in batches of 8, one translation unit each.
# Every file parses nlohmann/json, Asio or doctest again, and on two CPUs CI's three builds spent
# most of their time there. Files of a batch share one anonymous namespace, so a private helper
# is defined once (in a private header) or named for its file; a file that cannot share a unit
# sets SKIP_UNITY_BUILD_INCLUSION. Off with -DNICPERF_UNITY=OFF, which rebuilds less per edit.
option(NICPERF_UNITY "Compile each target's files in batches" ON)

function(nicperf_unity)
  if(NICPERF_UNITY)
    set_target_properties(${ARGN} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()
