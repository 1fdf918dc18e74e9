# lit configuration that runs every GoogleTest binary named *Tests under build/unittests.
import os

import lit.formats

config.name = "qnt-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.qnt_obj_root, "unittests")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")

# The sanitizer build (QNT_SANITIZE): every report fails the test.
# allow_user_poisoning=0: LLVM's BumpPtrAllocator, inlined from its header
# into qnt's instrumented code, poisons the slabs it starts, while the same
# allocator's code in Debian's uninstrumented libMLIR hands out memory from
# them without unpoisoning it; the manual poisoning of one half is only ever
# wrong, so it is turned off (docs/TESTING.md, "Sanitizers").
if config.qnt_sanitize:
    config.environment["ASAN_OPTIONS"] = "allow_user_poisoning=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
