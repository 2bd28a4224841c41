// Secrets on disk must be the owner's alone, as ssh insists for its keys.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "nicperf/util/error.hpp"

namespace nicperf {

// Refuses `path` when its mode has any of `forbidden` (e.g. 077: group or others), naming the
// mode and the chmod that fixes it.
inline Status check_file_mode(const std::string& path, const std::string& what,
                              unsigned forbidden) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return Error{Errc::kUsage, errno_text("cannot read the " + what + " '" + path + "'", errno)};
  unsigned mode = st.st_mode & 07777;
  if ((mode & forbidden) == 0) return ok();
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", mode);
  return Error{Errc::kUsage, "the " + what + " '" + path + "' has permissions " + octal +
                                 ", too open for a secret: run chmod 600 " + path};
}

}  // namespace nicperf
