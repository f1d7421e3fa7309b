// The sanitizer runtimes read these before ASAN_OPTIONS / UBSAN_OPTIONS / LSAN_OPTIONS (which
// still win), so every binary of an ERRBRIDGE_SANITIZE build runs with the same settings.
//
// ASan:  leaks are reported at exit (LeakSanitizer; a daemon stopped with SIGKILL never gets
//        there, one stopped with SIGTERM does and must exit 0); a finding exits 1 with a
//        stack; stack-use-after-return is checked too. lsan.supp lists leaks inside
//        third-party libraries, each with its reason.
// UBSan: the first finding halts the process (the build keeps UBSan recoverable so that a
//        suppression can apply: -fno-sanitize-recover would abort even on suppressed ones);
//        ubsan.supp lists the findings inside third-party headers, each with its reason.

#if !defined(ERRBRIDGE_UBSAN_SUPPRESSIONS) || !defined(ERRBRIDGE_LSAN_SUPPRESSIONS)
#error "ERRBRIDGE_UBSAN_SUPPRESSIONS, ERRBRIDGE_LSAN_SUPPRESSIONS: paths of tests/sanitize/*.supp"
#endif

extern "C" {

// NOLINTBEGIN(bugprone-reserved-identifier): the names the runtimes look up
const char* __asan_default_options();
const char* __ubsan_default_options();
const char* __lsan_default_options();

const char* __asan_default_options() {
    return "detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:"
           "check_initialization_order=1:print_summary=1";
}

const char* __ubsan_default_options() {
    return "halt_on_error=1:print_stacktrace=1:report_error_type=1:"
           "suppressions=" ERRBRIDGE_UBSAN_SUPPRESSIONS;
}
const char* __lsan_default_options() {
    return "suppressions=" ERRBRIDGE_LSAN_SUPPRESSIONS ":print_suppressions=0";
}
// NOLINTEND(bugprone-reserved-identifier)
}
