// Attaches every program of a BPF object, says "attached N" on stdout, and holds them until
// SIGTERM/SIGINT or SECONDS (default 600) pass. The links are fds: however this process ends,
// the kernel detaches the programs.
//   loader OBJECT [SECONDS]
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s OBJECT [SECONDS]\n", argv[0]);
    return 2;
  }
  int seconds = argc > 2 ? atoi(argv[2]) : 600;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  struct bpf_object* obj = bpf_object__open_file(argv[1], NULL);
  if (!obj || bpf_object__load(obj)) {
    fprintf(stderr, "loader: cannot load %s (needs root and BPF)\n", argv[1]);
    return 1;
  }
  struct bpf_program* prog;
  int n = 0;
  bpf_object__for_each_program(prog, obj) {
    if (!bpf_program__attach(prog)) {
      fprintf(stderr, "loader: cannot attach %s\n", bpf_program__name(prog));
      return 1;
    }
    ++n;
  }
  printf("attached %d\n", n);
  fflush(stdout);
  for (int i = 0; i < seconds && !stop; ++i) sleep(1);
  bpf_object__close(obj);
  return 0;
}
