# lit configuration for the qnt FileCheck suite.
import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "qnt"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qnt_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "helpers"]

# Captures die at each CHECK-LABEL; a RUN-line prefix that is never used fails.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope --allow-unused-prefixes=false"

llvm_config.use_default_substitutions()
# FileCheck, not, count, split-file and mlir-runner live in LLVM's bin folder.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.qnt_tools_dir, append_path=True)

config.substitutions.append(("%qnt_src_root", config.qnt_src_root))
# The scripts tests run (numpy references, checkpoint writers, case
# generators) live in one folder, test/helpers.
config.substitutions.append(("%helpers", os.path.join(config.test_source_root, "helpers")))
config.substitutions.append(
    ("%mlir_runner_utils",
     os.path.join(config.llvm_lib_dir, "libmlir_runner_utils" + config.llvm_shlib_ext)))
config.substitutions.append(
    ("%mlir_c_runner_utils",
     os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils" + config.llvm_shlib_ext)))

# Debian's python3 has numpy (python3-numpy), used by reference checkers.
config.substitutions.append(("%python", "/usr/bin/python3"))
# Runs a module's @main on the host through the JIT, with MLIR's print helpers
# and LLVM's OpenMP runtime (for code lowered with parallel=true).
config.substitutions.append(
    ("%run_main",
     "mlir-runner -e main -entry-point-result=void -O3"
     " -shared-libs=" + os.path.join(config.llvm_lib_dir, "libmlir_runner_utils" + config.llvm_shlib_ext) +
     " -shared-libs=" + os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils" + config.llvm_shlib_ext) +
     " -shared-libs=" + os.path.join(config.llvm_lib_dir, "libomp" + config.llvm_shlib_ext)))

tool_dirs = [config.qnt_tools_dir, config.llvm_tools_dir]
tools = ["quant-compile", "quant-import", "quant-run", "mlir-opt", "mlir-runner", "mlir-translate", "llc", "split-file", "llvm-nm"]
llvm_config.add_tool_substitutions(
    [t for t in tools if t != "quant-opt"] + [ToolSubst("quant-opt", unresolved="fatal")],
    tool_dirs)

# The trained model used by the end-to-end tests, when the checkout has it.
models = os.path.join(config.qnt_src_root, "..", "shared", "models")
if os.path.exists(os.path.join(models, "stories260K.bin")):
    config.available_features.add("stories260k")
    config.substitutions.append(("%models", os.path.abspath(models)))

# Real models fetched by scripts/fetch_models.py (into models/ of the checkout,
# or the shared models folder), for the tests that REQUIRE them.
for folder in (os.path.join(config.qnt_src_root, "models"), models):
    smollm2 = os.path.join(folder, "SmolLM2-135M-Instruct.Q4_1.gguf")
    if os.path.exists(smollm2) and "smollm2" not in config.available_features:
        config.available_features.add("smollm2")
        config.substitutions.append(("%smollm2", os.path.abspath(smollm2)))

# llama.cpp (llama-cpp-python built by bench/peers/llama_cpp_peer.py setup into
# build/peers-venv of the checkout, which records its build settings when done).
peer_venv = os.path.join(config.qnt_src_root, "build", "peers-venv")
if os.path.exists(os.path.join(peer_venv, "llama-cpp-build.txt")):
    config.available_features.add("llama-cpp")
    config.substitutions.append(
        ("%llama_cpp_peer", "/usr/bin/python3 " + os.path.join(
            config.qnt_src_root, "bench", "peers", "llama_cpp_peer.py")))

# The host CPU can run code using AVX2 (convert-qnt-int-dot isa=avx2), AVX-512
# VNNI (isa=avx512vnni) or AVX-VNNI (isa=avxvnni). The machines alternate
# between CPUs with and without them: tests of those lowerings' code REQUIRE
# the feature, their IR tests do not.
try:
    with open("/proc/cpuinfo") as cpuinfo:
        flags = set(next((l.split(":", 1)[1].split() for l in cpuinfo
                          if l.startswith("flags")), []))
    for flag, feature in [("avx2", "avx2"), ("avx512_vnni", "avx512vnni"),
                          ("avx_vnni", "avxvnni")]:
        if flag in flags:
            config.available_features.add(feature)
    if "avx512_vnni" in flags and "avx512vl" not in flags:
        config.available_features.discard("avx512vnni")
except OSError:
    pass

# A device whose writes fail with ENOSPC: the write-error tests use it.
if os.path.exists("/dev/full"):
    config.available_features.add("dev-full")

if shutil.which("ptxas") or os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")

# The NVIDIA driver's libcuda.so.1 (not the toolkit's link-time stub): with
# it, --target=cuda libraries load and report on the device themselves.
# cuda-device: the driver also sees a GPU, so compiled kernels can run.
import ctypes
try:
    libcuda = ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
    count = ctypes.c_int(0)
    if (libcuda.cuInit(0) == 0 and
            libcuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0):
        config.available_features.add("cuda-device")
except OSError:
    pass
# The toolkit's stub libcuda.so, which --target=cuda libraries link against.
cuda_stubs = "/usr/local/cuda/lib64/stubs"
if os.path.exists(os.path.join(cuda_stubs, "libcuda.so")):
    config.available_features.add("cuda-stub")
    config.substitutions.append(("%cuda_stubs", cuda_stubs))
