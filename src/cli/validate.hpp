// From the options as typed to what to run: role checks, sizes, rates and the test spec.
#pragma once

#include <vector>

#include "cli/options.hpp"
#include "nicperf/cli/cli.hpp"

namespace nicperf::cli {

// A client or server command from parsed options (not --help, --version or --mode list).
// `r` may be changed: --compare's first path becomes --mode.
Expected<Command> to_command(const CLI::App& app, const std::vector<Group>& groups, Raw& r);

}  // namespace nicperf::cli
