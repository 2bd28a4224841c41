#include <dirent.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "nicperf/stream/payload.hpp"

using namespace nicperf;

namespace {

int files_in(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

}  // namespace

TEST_CASE("the payload holds the pattern and leaves no file behind") {
  char tmpl[] = "/tmp/nicperf-test.XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = tmpl;
  const char* old = std::getenv("TMPDIR");
  std::string saved = old ? old : "";
  setenv("TMPDIR", dir.c_str(), 1);
  {
    auto p = Payload::create(1000, false);
    REQUIRE(p);
    CHECK(files_in(dir) == 0);  // unlinked at once
    CHECK(p->size() == 1000);
    CHECK(std::string(p->data(), 12) == "012345678901");
    CHECK(p->data()[999] == '9');
    struct stat st {};
    REQUIRE(fstat(p->fd(), &st) == 0);
    CHECK(st.st_size == 1000);
  }
  if (old)
    setenv("TMPDIR", saved.c_str(), 1);
  else
    unsetenv("TMPDIR");
  rmdir(dir.c_str());
}

TEST_CASE("an unwritable TMPDIR is a clear error") {
  setenv("TMPDIR", "/nonexistent-nicperf-dir", 1);
  auto p = Payload::create(100, false);
  unsetenv("TMPDIR");
  REQUIRE_FALSE(p);
  CHECK(p.error().message.find("TMPDIR") != std::string::npos);
}

TEST_CASE("the pattern restarts at every block, so any offset can be checked") {
  const std::size_t block = 13;  // not a multiple of 10
  std::string stream;
  for (std::uint64_t i = 0; i < 100; ++i) stream += pattern_byte(i, block);
  CHECK(stream.substr(10, 6) == "012012");
  CHECK_FALSE(find_mismatch(stream.data(), stream.size(), 0, block));
  CHECK_FALSE(find_mismatch(stream.data() + 37, 20, 37, block));
  std::string broken = stream;
  broken[42] = 'x';
  auto bad = find_mismatch(broken.data() + 30, 40, 30, block);
  REQUIRE(bad);
  CHECK(*bad == 42);
}

TEST_CASE("random payloads are not the pattern") {
  auto p = Payload::create(4096, true);
  REQUIRE(p);
  CHECK(find_mismatch(p->data(), p->size(), 0, p->size()));
}
