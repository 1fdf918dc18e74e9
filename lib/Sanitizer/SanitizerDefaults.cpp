// The sanitizer options every executable of the sanitizer build
// (QNT_SANITIZE) starts with; ASAN_OPTIONS and UBSAN_OPTIONS in the
// environment add to them and win.
//
// allow_user_poisoning=0: LLVM's BumpPtrAllocator is a header template.
// Instantiated in qnt's instrumented code (e.g. the storage of
// #qnt.scheme, SchemeAttrStorage::construct), it poisons each slab it starts
// and unpoisons only what it hands out; the same allocator's code compiled
// into Debian's uninstrumented libMLIR then hands out the rest of that slab
// (the context's attributes and locations live in one allocator) without
// unpoisoning it, and the first access is a false "use-after-poison". Nothing
// else in the process poisons memory by hand, so turning manual poisoning off
// loses no real check. Reproduce with ASAN_OPTIONS=allow_user_poisoning=1.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0:detect_leaks=1:"
         "detect_stack_use_after_return=1:strict_string_checks=1";
}

extern "C" const char *__ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}
