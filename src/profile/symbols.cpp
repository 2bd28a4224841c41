#include "profile/symbols.hpp"

#include <cxxabi.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

namespace nicperf {
namespace {

struct Sym {
  std::uint64_t addr = 0, size = 0;  // size 0: up to the next symbol
  std::string name;
};

struct Table {
  std::vector<Sym> syms;  // by address
  const Sym* find(std::uint64_t a) const {
    auto it = std::upper_bound(syms.begin(), syms.end(), a,
                               [](std::uint64_t x, const Sym& s) { return x < s.addr; });
    if (it == syms.begin()) return nullptr;
    const Sym& s = *std::prev(it);
    if (s.size && a >= s.addr + s.size) return nullptr;
    return &s;
  }
  void sort() {
    std::sort(syms.begin(), syms.end(), [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
  }
};

struct Kernel {
  Table table;
  std::string note;
};

Kernel load_kallsyms() {
  Kernel k;
  std::ifstream in("/proc/kallsyms");
  std::string line;
  bool any_address = false;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string addr, type, name;
    if (!(ls >> addr >> type >> name)) continue;
    if (type != "t" && type != "T") continue;
    std::uint64_t a = std::strtoull(addr.c_str(), nullptr, 16);
    any_address = any_address || a != 0;
    k.table.syms.push_back({a, 0, name});
  }
  if (!any_address) {
    std::ifstream r("/proc/sys/kernel/kptr_restrict");
    std::string level = "?";
    r >> level;
    k.note = "kernel addresses are hidden (kernel.kptr_restrict = " + level +
             "): kernel frames have no names; run as root with kernel.kptr_restrict=0 "
             "(sysctl -w kernel.kptr_restrict=0)";
    k.table.syms.clear();
  }
  k.table.sort();
  return k;
}

const Kernel& kernel() {
  static Kernel k = load_kallsyms();
  return k;
}

std::string demangle(const char* name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && d ? d : name;
  std::free(d);
  if (out.size() > 160) out = out.substr(0, 157) + "...";
  return out;
}

// nicperf's own functions and its loadable segments (to turn a file offset into an address).
struct Exe {
  Table table;
  struct Load {
    std::uint64_t vaddr, offset, filesz;
  };
  std::vector<Load> loads;
};

void read_symbols(Elf* elf, Exe& exe) {
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || sh.sh_entsize == 0) continue;
    for (std::size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym s;
      if (!gelf_getsym(data, int(i), &s)) continue;
      if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_value == 0) continue;
      const char* n = elf_strptr(elf, sh.sh_link, s.st_name);
      if (n && *n) exe.table.syms.push_back({s.st_value, s.st_size, demangle(n)});
    }
  }
}

Exe load_exe(const std::string& path) {
  Exe exe;
  elf_version(EV_CURRENT);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return exe;
  if (Elf* elf = elf_begin(fd, ELF_C_READ, nullptr)) {
    std::size_t n = 0;
    elf_getphdrnum(elf, &n);
    for (std::size_t i = 0; i < n; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, int(i), &ph) && ph.p_type == PT_LOAD)
        exe.loads.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz});
    }
    read_symbols(elf, exe);
    elf_end(elf);
  }
  ::close(fd);
  exe.table.sort();
  return exe;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, std::size_t(n)) : std::string();
}

const Exe& exe() {
  static Exe e = load_exe(self_exe());
  return e;
}

bool is_kernel_address(std::uint64_t ip) { return ip >= 0xffff800000000000ull; }

}  // namespace

Symbolizer::Symbolizer() : exe_(self_exe()) {
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    Map m;
    std::istringstream ls(line);
    std::string range, perms, offset, dev, inode;
    ls >> range >> perms >> offset >> dev >> inode;
    std::getline(ls >> std::ws, m.path);
    auto dash = range.find('-');
    if (dash == std::string::npos || perms.find('x') == std::string::npos) continue;
    m.start = std::strtoull(range.substr(0, dash).c_str(), nullptr, 16);
    m.end = std::strtoull(range.substr(dash + 1).c_str(), nullptr, 16);
    m.offset = std::strtoull(offset.c_str(), nullptr, 16);
    maps_.push_back(std::move(m));
  }
}

const std::string& Symbolizer::kernel_note() const { return kernel().note; }

std::string Symbolizer::user_name(std::uint64_t ip) const {
  for (const Map& m : maps_) {
    if (ip < m.start || ip >= m.end) continue;
    if (m.path == exe_) {
      std::uint64_t off = ip - m.start + m.offset;
      for (const auto& l : exe().loads) {
        if (off < l.offset || off >= l.offset + l.filesz) continue;
        if (const Sym* s = exe().table.find(l.vaddr + off - l.offset)) return s->name;
      }
      return "[nicperf]";
    }
    if (m.path.empty()) return "[anon]";
    auto slash = m.path.rfind('/');
    return "[" + (slash == std::string::npos ? m.path : m.path.substr(slash + 1)) + "]";
  }
  return "[unknown]";
}

std::vector<StackFrame> Symbolizer::frames(const std::vector<std::uint64_t>& chain) const {
  std::vector<StackFrame> out;
  bool leaf = true;
  for (std::uint64_t ip : chain) {
    if (is_context_marker(ip)) continue;
    // A return address points past its call: look up the call itself.
    std::uint64_t at = leaf ? ip : ip - 1;
    leaf = false;
    StackFrame f;
    f.kernel = is_kernel_address(ip);
    if (f.kernel) {
      const Sym* s = kernel().table.find(at);
      f.name = s ? s->name : "[kernel]";
    } else {
      f.name = user_name(at);
    }
    // A caller nothing names (no frame pointers there) adds nothing to the stack.
    if (!out.empty() && !f.kernel && f.name == "[unknown]") continue;
    // A run of frames in one unnamed library says no more than its first.
    if (!out.empty() && !f.kernel && f.name == out.back().name && f.name[0] == '[') continue;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace nicperf
