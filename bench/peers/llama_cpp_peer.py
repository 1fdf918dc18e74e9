#!/usr/bin/env python3
"""llama.cpp as a peer benchmark for qnt: converts llama2.c checkpoints to GGUF, checks the conversion, times decode and prefill.

  llama_cpp_peer.py setup                               build llama.cpp (pip) only
  llama_cpp_peer.py convert MODEL.bin OUT.gguf [--type f32|q8_0|q4_0]
  llama_cpp_peer.py check MODEL.bin                     llama.cpp vs numpy reference
  llama_cpp_peer.py bench MODEL.gguf --threads 1,2 [--decode 128] [--prefill 128]
                                     [--position 1000]

Everything runs inside a virtual environment (--venv, default
build/peers-venv under the repository root) made with Debian's
/usr/bin/python3 and --system-site-packages (for numpy). The script creates
it, pip-installs llama-cpp-python (which compiles llama.cpp from source with
cmake, for this CPU) and gguf into it when they are not importable there yet,
and re-executes itself with the venv's python.
"""
import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO / "build" / "peers-venv"
REFERENCE = REPO / "test" / "Integration" / "Llama2c" / "llama2c_ref.py"
SYSTEM_PYTHON = "/usr/bin/python3"

# Pinned so that the low-level API used below (llama_batch, llama_get_memory,
# ...) is the one this script was written against; --llama-cpp-python overrides.
LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"
GGUF = "gguf==0.19.0"

# cmake flags for llama.cpp: native code for this CPU (AVX2/AVX-512 ...),
# OpenMP thread pool, release build, no extras.
CMAKE_ARGS = ("-DGGML_NATIVE=ON -DGGML_OPENMP=ON -DCMAKE_BUILD_TYPE=Release "
              "-DGGML_BLAS=OFF -DGGML_CUDA=OFF -DLLAMA_CURL=OFF")

REEXEC_GUARD = "QNT_LLAMA_CPP_PEER_IN_VENV"


def die(message):
    """One-line error on stderr, exit status 1."""
    print(f"llama_cpp_peer: error: {message}", file=sys.stderr)
    sys.exit(1)


# --------------------------------------------------------------------------
# Virtual environment: create, install, re-execute.
# --------------------------------------------------------------------------

def venv_python(venv):
    return venv / "bin" / "python"


def importable(python, modules):
    """True if `python -c 'import modules'` succeeds."""
    code = "import " + ", ".join(modules)
    return subprocess.run([str(python), "-c", code], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def ensure_venv(args):
    """Makes sure the venv exists and holds llama_cpp and gguf; re-executes
    this script in it unless already running there. Returns only when
    running inside the venv."""
    venv = Path(args.venv).resolve()
    if Path(sys.prefix).resolve() == venv:
        return
    if os.environ.get(REEXEC_GUARD):
        die(f"re-executed in {venv} but sys.prefix is {sys.prefix}")
    python = venv_python(venv)
    if not python.exists():
        print(f"llama_cpp_peer: creating venv {venv}", file=sys.stderr)
        venv.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)])
        if r.returncode != 0:
            die(f"'{SYSTEM_PYTHON} -m venv --system-site-packages {venv}' failed (status {r.returncode})")
    if not importable(python, ["numpy"]):
        die(f"numpy is not importable in {venv} (Debian's python3-numpy is expected "
            f"through --system-site-packages)")
    install = []
    if not importable(python, ["gguf"]):
        install.append(args.gguf)
    if not importable(python, ["llama_cpp"]):
        install.append(args.llama_cpp_python)
    if install:
        log = venv / "pip-install.log"
        env = dict(os.environ)
        env["CMAKE_ARGS"] = CMAKE_ARGS
        env["CMAKE_BUILD_PARALLEL_LEVEL"] = str(args.jobs)
        # --no-binary: llama-cpp-python is always built here, for this CPU;
        # --no-cache-dir: never a wheel cached from other CMAKE_ARGS.
        cmd = [str(python), "-m", "pip", "install", "--no-cache-dir", "-v",
               "--no-binary", "llama-cpp-python"] + install
        print(f"llama_cpp_peer: pip-installing {' '.join(install)} into {venv} "
              f"(compiles llama.cpp: ~10-20 min with 2 jobs; log {log})", file=sys.stderr)
        print(f"llama_cpp_peer: CMAKE_ARGS='{CMAKE_ARGS}' CMAKE_BUILD_PARALLEL_LEVEL={args.jobs}",
              file=sys.stderr)
        start = time.monotonic()
        with open(log, "w") as f:
            f.write(f"# CMAKE_ARGS='{CMAKE_ARGS}' CMAKE_BUILD_PARALLEL_LEVEL={args.jobs}\n")
            f.write("# " + " ".join(shlex.quote(c) for c in cmd) + "\n")
            f.flush()
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
        took = time.monotonic() - start
        if r.returncode != 0 or not importable(python, ["llama_cpp", "gguf"]):
            die(f"pip could not install {' '.join(install)} (status {r.returncode}, "
                f"{took:.0f} s): {last_error_line(log)} [full log: {log}]")
        print(f"llama_cpp_peer: pip install took {took:.0f} s", file=sys.stderr)
    env = dict(os.environ)
    env[REEXEC_GUARD] = "1"
    os.execve(str(python), [str(python), str(Path(__file__).resolve())] + sys.argv[1:], env)


def last_error_line(log):
    """The most telling line of a failed pip log: the last one that mentions
    an error, else the last non-empty one."""
    try:
        lines = [l.strip() for l in open(log, errors="replace") if l.strip()]
    except OSError:
        return "(no log)"
    for line in reversed(lines):
        low = line.lower()
        if "error" in low and "warning" not in low:
            return line[:300]
    return lines[-1][:300] if lines else "(empty log)"


# --------------------------------------------------------------------------
# Commands (run inside the venv).
# --------------------------------------------------------------------------

def cmd_setup(args):
    import gguf
    import llama_cpp
    print(f"llama-cpp-python {llama_cpp.__version__}, gguf {getattr(gguf, '__version__', '?')}, "
          f"venv {sys.prefix}")
    print("system info:", llama_cpp.llama_print_system_info().decode().strip())
    return 0


def main():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--venv", default=str(DEFAULT_VENV),
                        help="virtual environment to create/use (default: %(default)s)")
    common.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel compile jobs for the first build of llama.cpp "
                             "(CMAKE_BUILD_PARALLEL_LEVEL; default: %(default)s)")
    common.add_argument("--llama-cpp-python", default=LLAMA_CPP_PYTHON, metavar="SPEC",
                        help="pip requirement for llama-cpp-python (default: %(default)s)")
    common.add_argument("--gguf", default=GGUF, metavar="SPEC",
                        help="pip requirement for gguf (default: %(default)s)")
    common.add_argument("--verbose", action="store_true", help="show llama.cpp's log")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("setup", parents=[common], help="create the venv and build llama.cpp only")
    args = p.parse_args()
    ensure_venv(args)
    return {"setup": cmd_setup}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
