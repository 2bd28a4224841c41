# The optional in-kernel (eBPF) cost collector: clang compiles src/cost/bpf/*.bpf.c for
# -target bpf, bpftool embeds each object in a skeleton header in the build folder, and the core
# library gets NICPERF_HAVE_BPF=1 and libbpf. When a piece is missing the build goes on without
# it and the bpf cost level says why (NICPERF_BPF_MISSING).
#   nicperf_add_bpf(<target>)
option(NICPERF_BPF "Build the in-kernel (eBPF) cost collector when clang, bpftool and libbpf exist" ON)

function(nicperf_add_bpf target)
  set(missing "")
  if(NOT NICPERF_BPF)
    set(missing "disabled (-DNICPERF_BPF=OFF)")
  endif()
  find_program(NICPERF_BPF_CLANG NAMES clang-16 clang-15 clang-14 clang)
  find_program(NICPERF_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(LIBBPF QUIET IMPORTED_TARGET libbpf)
  endif()
  if(NOT missing AND NOT NICPERF_BPF_CLANG)
    set(missing "no clang")
  endif()
  if(NOT missing AND NOT NICPERF_BPFTOOL)
    set(missing "no bpftool")
  endif()
  if(NOT missing AND NOT LIBBPF_FOUND)
    set(missing "no libbpf (pkg-config libbpf)")
  endif()
  if(missing)
    message(STATUS "nicperf: built without BPF: ${missing}")
    target_compile_definitions(${target} PRIVATE NICPERF_BPF_MISSING="${missing}")
    return()
  endif()

  set(dir ${CMAKE_CURRENT_SOURCE_DIR}/cost/bpf)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/bpf)
  file(MAKE_DIRECTORY ${out})
  file(GLOB programs CONFIGURE_DEPENDS ${dir}/*.bpf.c)
  set(skeletons "")
  foreach(src ${programs})
    get_filename_component(name ${src} NAME_WE)  # irq_cost.bpf.c -> irq_cost
    add_custom_command(
      OUTPUT ${out}/${name}.skel.h
      COMMAND ${NICPERF_BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86
              -I/usr/include/x86_64-linux-gnu -I${dir} -c ${src} -o ${out}/${name}.bpf.o
      COMMAND sh -c "\"$0\" gen skeleton \"$1\" name $2 > \"$3\""
              ${NICPERF_BPFTOOL} ${out}/${name}.bpf.o ${name} ${out}/${name}.skel.h
      DEPENDS ${src} ${dir}/irq_cost.h
      COMMENT "BPF: ${name}.bpf.c -> ${name}.skel.h"
      VERBATIM)
    list(APPEND skeletons ${out}/${name}.skel.h)
  endforeach()
  add_custom_target(${target}_bpf DEPENDS ${skeletons})
  add_dependencies(${target} ${target}_bpf)
  target_include_directories(${target} PRIVATE ${out})
  target_compile_definitions(${target} PUBLIC NICPERF_HAVE_BPF=1)
  target_link_libraries(${target} PUBLIC PkgConfig::LIBBPF)
  message(STATUS "nicperf: BPF cost collector with ${NICPERF_BPF_CLANG}, ${NICPERF_BPFTOOL}")
endfunction()
