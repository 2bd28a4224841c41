// The test binaries' main: doctest's own, plus one rule. CTest runs each test case as
// --test-case=NAME, and a run whose filters match no test case passes in doctest. That is how a
// name holding ';' (CTest splits it into two tests, neither matching) passed without running, so
// here a run that selects nothing fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

namespace {

bool ran_none = false;

struct NothingRanGuard : doctest::IReporter {
  explicit NothingRanGuard(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override {
    ran_none = s.numTestCasesPassingFilters == 0;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("nothing-ran-guard", 1, NothingRanGuard);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int rc = context.run();
  if (context.shouldExit() || rc != 0) return rc;
  if (ran_none) {
    std::fprintf(stderr,
                 "no test case matched the filters: check the name (CTest splits one at ';')\n");
    return 1;
  }
  return 0;
}
