# lit configuration for the qnt FileCheck suite.
#
# Parameters (lit --param NAME=VALUE, or LIT_OPTS="--param NAME=VALUE" for
# scripts/test.sh and check-qnt; docs/TESTING.md):
#   long=0      skip the tests that REQUIRE long (measurements and runs of
#               over a minute); on by default
#   cpu=NAME    test for another x86-64 CPU this host can run (an LLVM CPU
#               name such as znver3): quant-compile gets --cpu=NAME where a
#               test does not pin --cpu, mlir-runner loses the instruction
#               sets NAME lacks, and the CPU features below are NAME's
#   python=PATH the Python (with numpy) of the reference checkers
#   cuda=PATH   the CUDA toolkit (bin/ptxas, lib64/stubs)
import os
import re
import shutil
import subprocess
import sys

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


def has_numpy(python):
    try:
        return subprocess.run([python, "-c", "import numpy"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        return False


# The reference checkers need numpy: the first of --param python=, the Python
# running lit and python3 on PATH that has it.
candidates = [lit_config.params.get("python"), sys.executable, shutil.which("python3")]
python = next((c for c in candidates if c and has_numpy(c)), None)
if python is None:
    lit_config.warning("no Python with numpy among %s: the reference checkers will fail "
                       "(install python3-numpy, or --param python=PATH)" % [c for c in candidates if c])
    python = next(c for c in candidates if c)
config.substitutions.append(("%python", python))

# The CPU the tests compile for: the host's, or --param cpu=NAME. Its
# instruction sets are features: tests that run code using AVX2
# (convert-qnt-int-dot isa=avx2), AVX-512 (avx512: F, BW and VL), AVX-512 VNNI
# (avx512vnni, with VL; isa=avx512vnni), AVX-VNNI (avxvnni) or either VNNI
# (vnni) REQUIRE it; tests of the IR those lowerings produce do not. The
# machines alternate between CPUs with and without them.
def host_cpu_flags():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return set(next((l.split(":", 1)[1].split() for l in cpuinfo
                             if l.startswith("flags")), []))
    except OSError:
        return set()


cpu = lit_config.params.get("cpu")
if cpu:
    clang = shutil.which("clang-22", path=config.llvm_tools_dir + os.pathsep +
                         os.environ.get("PATH", "")) or shutil.which("clang")
    if not clang:
        lit_config.fatal("--param cpu=%s needs clang-22 to know the CPU's features" % cpu)
    macros = subprocess.run([clang, "-march=" + cpu, "-dM", "-E", "-x", "c", os.devnull],
                            capture_output=True, text=True)
    if macros.returncode != 0:
        lit_config.fatal("--param cpu=%s: %s" % (cpu, macros.stderr.strip()))
    isa = {m.lower() for m in re.findall(r"#define __(AVX\w*)__ 1", macros.stdout)}
    flags = {"avx2": "avx2" in isa, "avx512f": "avx512f" in isa,
             "avx512bw": "avx512bw" in isa, "avx512vl": "avx512vl" in isa,
             "avx512_vnni": "avx512vnni" in isa, "avx_vnni": "avxvnni" in isa}
    flags = {f for f, present in flags.items() if present}
    missing = flags - host_cpu_flags()
    if missing:
        lit_config.fatal("--param cpu=%s: this host cannot run its code (no %s)"
                         % (cpu, ", ".join(sorted(missing))))
else:
    flags = host_cpu_flags()
if "avx2" in flags:
    config.available_features.add("avx2")
if {"avx512f", "avx512bw", "avx512vl"} <= flags:
    config.available_features.add("avx512")
if {"avx512_vnni", "avx512vl"} <= flags:
    config.available_features.add("avx512vnni")
if "avx_vnni" in flags:
    config.available_features.add("avxvnni")
if {"avx512vnni", "avxvnni"} & config.available_features:
    config.available_features.add("vnni")

# Runs a module's @main through the JIT, with MLIR's print helpers and LLVM's
# OpenMP runtime (for code lowered with parallel=true). With --param cpu the
# JIT does not use the instruction sets that CPU lacks.
mattr = ""
if cpu:
    off = [f for f, have in [("avx2", "avx2" in flags), ("avx512f", "avx512f" in flags),
                             ("avxvnni", "avx_vnni" in flags)] if not have]
    if off:
        mattr = " -mattr=" + ",".join("-" + f for f in off)
config.substitutions.append(
    ("%run_main",
     "mlir-runner -e main -entry-point-result=void -O3" + mattr +
     " -shared-libs=" + os.path.join(config.llvm_lib_dir, "libmlir_runner_utils" + config.llvm_shlib_ext) +
     " -shared-libs=" + os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils" + config.llvm_shlib_ext) +
     " -shared-libs=" + os.path.join(config.llvm_lib_dir, "libomp" + config.llvm_shlib_ext)))

tool_dirs = [config.qnt_tools_dir, config.llvm_tools_dir]
tools = ["quant-import", "quant-run", "mlir-opt", "mlir-runner", "mlir-translate", "llc", "split-file", "llvm-nm",
         ToolSubst("quant-opt", unresolved="fatal")]
if cpu:
    # quant-compile --cpu=NAME unless the test pins a CPU itself (the option
    # may be given once).
    wrapper = os.path.join(config.test_exec_root, "cpu-" + cpu, "quant-compile")
    os.makedirs(os.path.dirname(wrapper), exist_ok=True)
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nfor a in "$@"; do case $a in --cpu|--cpu=*|-cpu|-cpu=*) exec "%s" "$@";; esac; done\n'
                'exec "%s" --cpu=%s "$@"\n' % ((os.path.join(config.qnt_tools_dir, "quant-compile"),) * 2 + (cpu,)))
    os.chmod(wrapper, 0o755)
    tools.append(ToolSubst("quant-compile", command=wrapper))
else:
    tools.append("quant-compile")
llvm_config.add_tool_substitutions(tools, tool_dirs)

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
        ("%llama_cpp_peer", python + " " + os.path.join(
            config.qnt_src_root, "bench", "peers", "llama_cpp_peer.py")))

# Tests that take over a minute on the 2-core development machine (the
# measurement of quant-compile --calibrate-target, the longest model and
# mixed-precision runs) REQUIRE long: on unless --param long=0.
if lit_config.params.get("long", "1").lower() not in ("0", "false", "no", "off"):
    config.available_features.add("long")

# A device whose writes fail with ENOSPC: the write-error tests use it.
if os.path.exists("/dev/full"):
    config.available_features.add("dev-full")

# The CUDA toolkit: --param cuda=, else $CUDA_HOME or $CUDA_PATH, else the
# one of the ptxas on PATH, else /usr/local/cuda (quant-compile's default
# toolkit). Its bin goes on the tests' PATH, so they and quant-compile find
# the same ptxas.
cuda = None
for root in (lit_config.params.get("cuda"), os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")):
    if root and os.path.exists(os.path.join(root, "bin", "ptxas")):
        cuda = root
        break
if cuda is None and shutil.which("ptxas"):
    cuda = os.path.dirname(os.path.dirname(shutil.which("ptxas")))
if cuda is None and os.path.exists("/usr/local/cuda/bin/ptxas"):
    cuda = "/usr/local/cuda"
if cuda:
    config.available_features.add("ptxas")
    llvm_config.with_environment("PATH", os.path.join(cuda, "bin"), append_path=True)

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
for stubs in ([os.path.join(cuda, "lib64", "stubs"),
               os.path.join(cuda, "targets", "x86_64-linux", "lib", "stubs")] if cuda else []):
    if os.path.exists(os.path.join(stubs, "libcuda.so")):
        config.available_features.add("cuda-stub")
        config.substitutions.append(("%cuda_stubs", stubs))
        break
