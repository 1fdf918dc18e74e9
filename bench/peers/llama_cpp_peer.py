#!/usr/bin/env python3
"""llama.cpp as a peer benchmark for qnt: converts llama2.c checkpoints to GGUF, checks the conversion, times decode and prefill.

  llama_cpp_peer.py setup                     create the venv, build llama.cpp
  llama_cpp_peer.py convert MODEL.bin OUT.gguf [--type f32|q8_0|q4_0] [--pure]
  llama_cpp_peer.py check MODEL.bin           llama.cpp vs the numpy reference
  llama_cpp_peer.py bench MODEL.gguf --threads 1,2 [--decode 128]
                          [--prefill 128] [--position 1000]
  llama_cpp_peer.py logits MODEL.gguf --tokens "1 2 3" --out FILE
                                              llama.cpp's logits of each token

MODEL.bin is a llama2.c checkpoint (legacy version 0: seven int32 header
fields, then float32 tensors; see scripts/make_tiny_llama.py and
test/helpers/llama2c_ref.py). `convert` writes an F32 GGUF of
architecture "llama" with the gguf package and quantizes it with llama.cpp's
own quantizer. `check` runs llama.cpp greedily from BOS on the F32 GGUF and
compares tokens and logits with llama2c_ref.py. `bench` prints one line per
measurement, for example

  peer=llama.cpp type=q4_0 threads=1 what=decode position=0 ms_per_token=5.180 steps=128 min_ms=4.390 other_cpu=0.00 tries=1
  peer=llama.cpp type=q4_0 threads=1 what=prefill tokens=128 ms=177.895 tokens_per_s=719.5 repeats=5 other_cpu=0.00 tries=1

(other lines start with '#'; other_cpu is the share of the CPUs that other
processes used during the measurement, which is repeated while it is high).

Everything runs inside a virtual environment (--venv, default
build/peers-venv under the repository root) made with Debian's
/usr/bin/python3 and --system-site-packages (for numpy). The script creates
it, pip-installs llama-cpp-python (which compiles llama.cpp from source with
cmake, for this CPU's instruction sets, with OpenMP) and gguf into it when they
are not importable there yet, and re-executes itself with the venv's python.
"""
import argparse
import ctypes
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO / "build" / "peers-venv"
# In the venv: the llama-cpp-python requirement and CMAKE_ARGS it was built
# with (ensure_venv writes it, build_flags reads it back).
BUILD_STAMP = "llama-cpp-build.txt"
REFERENCE = REPO / "test" / "helpers" / "llama2c_ref.py"
SYSTEM_PYTHON = "/usr/bin/python3"

# Pinned so that the low-level API used below (llama_batch, llama_get_memory,
# load_mode, ...) is the one this script was written against;
# --llama-cpp-python / --gguf override.
LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"
GGUF = "gguf==0.19.0"

# cmake flags for llama.cpp: code for this CPU, OpenMP thread pool, release
# build, no BLAS/GPU/curl (see cmake_args).
COMMON_CMAKE_ARGS = ("-DGGML_OPENMP=ON -DCMAKE_BUILD_TYPE=Release -DGGML_BLAS=OFF "
                     "-DGGML_CUDA=OFF -DLLAMA_CURL=OFF")

# ggml's x86 instruction-set options and the /proc/cpuinfo flags each needs.
X86_OPTIONS = [
    ("GGML_SSE42", ["sse4_2"]), ("GGML_AVX", ["avx"]), ("GGML_AVX2", ["avx2"]),
    ("GGML_FMA", ["fma"]), ("GGML_F16C", ["f16c"]), ("GGML_BMI2", ["bmi2"]),
    ("GGML_AVX_VNNI", ["avx_vnni"]),
    ("GGML_AVX512", ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"]),
    ("GGML_AVX512_VBMI", ["avx512vbmi"]), ("GGML_AVX512_VNNI", ["avx512_vnni"]),
    ("GGML_AVX512_BF16", ["avx512_bf16"]),
]
AMX_OPTIONS = [("GGML_AMX_TILE", ["amx_tile"]), ("GGML_AMX_INT8", ["amx_int8"]),
               ("GGML_AMX_BF16", ["amx_bf16"])]

REEXEC_GUARD = "QNT_LLAMA_CPP_PEER_IN_VENV"
# glibc's malloc advises its mmap'd blocks for transparent huge pages with
# this tunable, read at process start. llama.cpp reads the weights into
# malloc'd buffers (no mmap here); where transparent huge pages are
# "madvise" they were otherwise on 4 KiB pages, and a 1.1B Q4_0 decoding
# step took 109 ms against 70 (Xeon VM, 1 thread): qnt's quant-run puts its
# weights on 2 MiB pages, so the peer gets them too.
HUGE_PAGE_TUNABLE = "glibc.malloc.hugetlb=1"

# llama.cpp's file types (enum llama_ftype) for the types this script makes.
FTYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7}
FTYPE_NAMES = {v: k for k, v in FTYPES.items()}


def die(message):
    """One-line error on stderr, exit status 1."""
    print(f"llama_cpp_peer: error: {message}", file=sys.stderr)
    sys.exit(1)


def note(message):
    print(f"llama_cpp_peer: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Virtual environment: create, install, re-execute.
# --------------------------------------------------------------------------

def importable(python, modules):
    """True if `python -c 'import modules'` succeeds."""
    code = "import " + ", ".join(modules)
    return subprocess.run([str(python), "-c", code], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cmake_args(amx):
    """CMAKE_ARGS for building llama.cpp here.

    With --amx: -DGGML_NATIVE=ON (-march=native), which on a CPU with AMX
    also compiles ggml's AMX kernels. Otherwise: every x86 instruction-set
    option of ggml that this CPU has (the same SIMD code as -march=native),
    but no AMX. The AMX kernels of the llama.cpp in llama-cpp-python 0.3.36
    take the q4_0/q8_0 weights and crash (SIGSEGV in llama_decode as soon as
    a batch has 2 or more tokens) on this project's Sapphire Rapids machine;
    llama.cpp's issues report AMX segfaults (#20824) and wrong Q4_0 results
    (#16315) too. Without AMX, q4_0 runs ggml's AVX-512 CPU_REPACK kernels."""
    flags = cpu_flags()
    if amx or "avx" not in flags:
        return "-DGGML_NATIVE=ON " + COMMON_CMAKE_ARGS
    opts = ["-DGGML_NATIVE=OFF"]
    for name, need in X86_OPTIONS + AMX_OPTIONS:
        on = all(f in flags for f in need) and not name.startswith("GGML_AMX")
        opts.append(f"-D{name}={'ON' if on else 'OFF'}")
    return " ".join(opts) + " " + COMMON_CMAKE_ARGS


def ensure_venv(args):
    """Makes sure the venv exists and holds gguf and a llama_cpp built with
    the current cmake_args (recorded in VENV/llama-cpp-build.txt; a
    different or missing record rebuilds it), then re-executes this script
    with the venv's python and HUGE_PAGE_TUNABLE (reexec). Returns only when
    already running inside the venv with that tunable."""
    venv = Path(args.venv).resolve()
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    in_venv = Path(sys.prefix).resolve() == venv
    if in_venv and HUGE_PAGE_TUNABLE in tunables.split(":"):
        return
    if os.environ.get(REEXEC_GUARD):
        die(f"re-executed in {venv} but sys.prefix is {sys.prefix}, "
            f"GLIBC_TUNABLES '{tunables}'")
    if in_venv:
        reexec(venv / "bin" / "python", tunables)
    python = venv / "bin" / "python"
    if not python.exists():
        note(f"creating venv {venv}")
        venv.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)])
        if r.returncode != 0:
            die(f"'{SYSTEM_PYTHON} -m venv --system-site-packages {venv}' failed (status {r.returncode})")
    if not importable(python, ["numpy"]):
        die(f"numpy is not importable in {venv} (Debian's python3-numpy is expected "
            f"through --system-site-packages)")
    cmake = cmake_args(args.amx)
    stamp = venv / BUILD_STAMP
    wanted = f"{args.llama_cpp_python}\nCMAKE_ARGS={cmake}\n"
    install, reinstall = [], False
    if not importable(python, ["gguf"]):
        install.append(args.gguf)
    if not importable(python, ["llama_cpp"]):
        install.append(args.llama_cpp_python)
    elif args.rebuild or not stamp.exists() or stamp.read_text() != wanted:
        why = ("--rebuild" if args.rebuild else "built with other settings" if stamp.exists()
               else f"no record of its build settings ({stamp.name})")
        note(f"rebuilding llama_cpp in {venv}: {why}")
        install.append(args.llama_cpp_python)
        reinstall = True
    if install:
        log = venv / "pip-install.log"
        env = dict(os.environ)
        env["CMAKE_ARGS"] = cmake
        env["CMAKE_BUILD_PARALLEL_LEVEL"] = str(args.jobs)
        # --no-binary: llama-cpp-python is always built here, for this CPU;
        # --no-cache-dir: never a wheel cached from other CMAKE_ARGS.
        cmd = [str(python), "-m", "pip", "install", "--no-cache-dir", "-v",
               "--no-binary", "llama-cpp-python"]
        if reinstall:
            cmd += ["--force-reinstall", "--no-deps"]
        cmd += install
        note(f"pip-installing {' '.join(install)} into {venv} "
             f"(compiles llama.cpp: 4-6 min with 2 jobs; log {log})")
        note(f"CMAKE_ARGS='{cmake}' CMAKE_BUILD_PARALLEL_LEVEL={args.jobs}")
        stamp.unlink(missing_ok=True)
        start = time.monotonic()
        with open(log, "w") as f:
            f.write(f"# CMAKE_ARGS='{cmake}' CMAKE_BUILD_PARALLEL_LEVEL={args.jobs}\n")
            f.write("# " + " ".join(shlex.quote(c) for c in cmd) + "\n")
            f.flush()
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
        took = time.monotonic() - start
        if r.returncode != 0 or not importable(python, ["llama_cpp", "gguf"]):
            die(f"pip could not install {' '.join(install)} (status {r.returncode}, "
                f"{took:.0f} s): {last_error_line(log)} [full log: {log}]")
        stamp.write_text(wanted)
        note(f"pip install took {took:.0f} s")
    reexec(python, tunables)


def reexec(python, tunables):
    """Runs this script again with the venv's python and HUGE_PAGE_TUNABLE."""
    env = dict(os.environ)
    env[REEXEC_GUARD] = "1"
    env["GLIBC_TUNABLES"] = ":".join(t for t in [tunables, HUGE_PAGE_TUNABLE] if t)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(str(python), [str(python), str(Path(__file__).resolve())] + sys.argv[1:], env)


def anon_huge_mib():
    """MiB of this process's anonymous memory on 2 MiB pages."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                if line.startswith("AnonHugePages:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


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
# llama2.c checkpoint -> GGUF.
# --------------------------------------------------------------------------

def read_checkpoint(path):
    """(config dict, {name: float32 array}) of a llama2.c legacy checkpoint.
    The arrays are views of a read-only memory map, in nn.Linear [out, in]
    layout, one array per layer for the per-layer tensors."""
    import numpy as np
    header = np.fromfile(path, dtype="<i4", count=7)
    if header.size != 7:
        die(f"{path}: shorter than a llama2.c header")
    dim, hidden, layers, heads, kv_heads, vocab, seq = (int(v) for v in header)
    shared = vocab > 0
    vocab = abs(vocab)
    if min(dim, hidden, layers, heads, kv_heads, vocab, seq) <= 0 or dim % heads or heads % kv_heads:
        die(f"{path}: not a llama2.c checkpoint (header {header.tolist()})")
    head = dim // heads
    kv_dim = dim * kv_heads // heads
    data = np.memmap(path, dtype="<f4", mode="r", offset=28)
    shapes = [
        ("emb", (vocab, dim)), ("rms_att", (layers, dim)),
        ("wq", (layers, dim, dim)), ("wk", (layers, kv_dim, dim)), ("wv", (layers, kv_dim, dim)),
        ("wo", (layers, dim, dim)), ("rms_ffn", (layers, dim)),
        ("w1", (layers, hidden, dim)), ("w2", (layers, dim, hidden)), ("w3", (layers, hidden, dim)),
        ("rms_final", (dim,)),
        ("freq_cis_real", (seq, head // 2)), ("freq_cis_imag", (seq, head // 2)),
    ]
    if not shared:
        shapes.append(("cls", (vocab, dim)))
    expected = sum(int(np.prod(s)) for _, s in shapes)
    if data.size != expected:
        die(f"{path}: {data.size} floats after the header, expected {expected} for "
            f"dim={dim} hidden={hidden} layers={layers} heads={heads} kv_heads={kv_heads} "
            f"vocab={vocab} ({'shared' if shared else 'unshared'} classifier) seq={seq}")
    w, o = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape))
        w[name] = data[o:o + n].reshape(shape)
        o += n
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads,
               vocab=vocab, seq=seq, head=head, kv_dim=kv_dim, shared=shared)
    return cfg, w


def dummy_vocab(vocab):
    """A SentencePiece-style ("llama") vocabulary of `vocab` placeholder
    tokens: <unk>, <s>, </s>, then the 256 byte tokens <0x00>..<0xFF> as in
    Llama 2's (and llama2.c's tok512) vocabularies where they fit, then
    plain tokens. Only ids matter here; no text is ever tokenized."""
    NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6
    tokens, types = [], []
    for i in range(vocab):
        if i < 3:
            tokens.append(["<unk>", "<s>", "</s>"][i])
            types.append(UNKNOWN if i == 0 else CONTROL)
        elif vocab >= 259 and i < 259:
            tokens.append(f"<0x{i - 3:02X}>")
            types.append(BYTE)
        else:
            tokens.append(f"<tok{i}>")
            types.append(NORMAL)
    return tokens, [0.0] * vocab, types


def write_f32_gguf(model, out):
    """Writes the checkpoint `model` as an F32 GGUF of architecture llama."""
    import gguf
    cfg, w = read_checkpoint(model)
    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_name(Path(model).stem)
    writer.add_context_length(cfg["seq"])
    writer.add_embedding_length(cfg["dim"])
    writer.add_block_count(cfg["layers"])
    writer.add_feed_forward_length(cfg["hidden"])
    writer.add_head_count(cfg["heads"])
    writer.add_head_count_kv(cfg["kv_heads"])
    # llama2.c's RoPE rotates the pairs (2i, 2i+1) of each head by
    # pos / 10000^(2i/head_size): llama.cpp's normal RoPE of arch llama over
    # the whole head, so q and k need no permutation.
    writer.add_rope_dimension_count(cfg["head"])
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(cfg["vocab"])
    writer.add_file_type(FTYPES["f32"])
    tokens, scores, types = dummy_vocab(cfg["vocab"])
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)

    # numpy [out, in] is GGUF ne = [in, out], the layout llama.cpp expects.
    writer.add_tensor("token_embd.weight", w["emb"])
    for l in range(cfg["layers"]):
        for name, key in (("attn_norm", "rms_att"), ("attn_q", "wq"), ("attn_k", "wk"),
                          ("attn_v", "wv"), ("attn_output", "wo"), ("ffn_norm", "rms_ffn"),
                          ("ffn_gate", "w1"), ("ffn_down", "w2"), ("ffn_up", "w3")):
            writer.add_tensor(f"blk.{l}.{name}.weight", w[key][l])
    writer.add_tensor("output_norm.weight", w["rms_final"])
    # A shared classifier has no output.weight: llama.cpp then uses
    # token_embd.weight for the logits too.
    if not cfg["shared"]:
        writer.add_tensor("output.weight", w["cls"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return cfg


def context_length(path):
    """llama.context_length of a GGUF file."""
    import gguf
    field = gguf.GGUFReader(str(path)).fields.get("llama.context_length")
    if field is None:
        die(f"{path}: no llama.context_length (not a GGUF of architecture llama?)")
    return int(field.parts[field.data[0]][0])


def tensor_types(path):
    """'q4_0 x 84, f32 x 25, ...': how many tensors of each type `path` holds."""
    import gguf
    counts = {}
    for t in gguf.GGUFReader(str(path)).tensors:
        name = t.tensor_type.name.lower()
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{k} x {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def convert(model, out, qtype, pure=False, threads=0, verbose=False):
    """MODEL.bin -> OUT.gguf of type `qtype`; quantized types via llama.cpp."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if qtype == "f32":
        write_f32_gguf(model, out)
    else:
        llama_cpp = load_llama_cpp(verbose)
        f32 = out.with_name(out.name + ".f32.tmp")
        try:
            write_f32_gguf(model, f32)
            params = llama_cpp.llama_model_quantize_default_params()
            params.ftype = FTYPES[qtype]
            params.nthread = threads
            # pure: every 2-D tensor in qtype. Otherwise llama.cpp's own
            # choices for the type, as llama-quantize makes them (for
            # q4_0 the classifier becomes q6_K).
            params.pure = pure
            rc = llama_cpp.llama_model_quantize(str(f32).encode(), str(out).encode(),
                                                ctypes.byref(params))
            if rc != 0:
                die(f"llama_model_quantize({f32} -> {out}, {qtype}) failed with status {rc}")
        finally:
            f32.unlink(missing_ok=True)
    note(f"wrote {out} ({qtype}{', pure' if pure else ''}; {out.stat().st_size / 2**20:.1f} MiB; "
         f"tensors {tensor_types(out)}) in {time.perf_counter() - start:.1f} s")


# --------------------------------------------------------------------------
# llama.cpp through llama-cpp-python's low-level (ctypes) API.
# --------------------------------------------------------------------------

_log_state = {"verbose": False, "last": 0, "callback": None}


def load_llama_cpp(verbose):
    """Imports llama_cpp; llama.cpp's log goes to stderr in full with
    --verbose, else only its errors."""
    import llama_cpp
    _log_state["verbose"] = verbose

    def log(level, text, user_data):
        # ggml_log_level (ggml.h): 1 debug, 2 info, 3 warn, 4 error,
        # 5 continuation of the previous message.
        if level != 5:
            _log_state["last"] = level
        if _log_state["verbose"] or _log_state["last"] >= 4:
            sys.stderr.write(text.decode("utf-8", errors="replace"))
            sys.stderr.flush()

    if _log_state["callback"] is None:
        _log_state["callback"] = llama_cpp.llama_log_callback(log)   # kept alive here
        llama_cpp.llama_log_set(_log_state["callback"], ctypes.c_void_p(0))
    llama_cpp.llama_backend_init()
    return llama_cpp


def flash_attn_types(lc):
    return {"auto": lc.LLAMA_FLASH_ATTN_TYPE_AUTO, "off": lc.LLAMA_FLASH_ATTN_TYPE_DISABLED,
            "on": lc.LLAMA_FLASH_ATTN_TYPE_ENABLED}


def kv_types(lc):
    return {"f32": lc.GGML_TYPE_F32, "f16": lc.GGML_TYPE_F16, "q8_0": lc.GGML_TYPE_Q8_0}


class Runner:
    """One model and one context (one KV cache, sequence 0) of llama.cpp."""

    def __init__(self, llama_cpp, path, n_ctx, n_batch, threads, kv_type=None, flash_attn=None):
        import numpy as np
        self.np = np
        self.lc = lc = llama_cpp
        mparams = lc.llama_model_default_params()
        mparams.n_gpu_layers = 0
        # Read the weights into memory up front (no mmap, so no page faults
        # in the timed calls).
        mparams.load_mode = lc.LLAMA_LOAD_MODE_NONE
        self.model = lc.llama_model_load_from_file(str(path).encode(), mparams)
        if not self.model:
            die(f"llama.cpp could not load {path} (run with --verbose for its log)")
        self.vocab = lc.llama_vocab_n_tokens(lc.llama_model_get_vocab(self.model))
        self.n_ctx_train = lc.llama_model_n_ctx_train(self.model)
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = n_ctx or self.n_ctx_train
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_seq_max = 1
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        if kv_type is not None:
            cparams.type_k = cparams.type_v = kv_type
        if flash_attn is not None:
            cparams.flash_attn_type = flash_attn
        self.ctx = lc.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            die(f"llama.cpp could not create a context for {path} (n_ctx {cparams.n_ctx}, "
                f"n_batch {n_batch}; run with --verbose for its log)")
        self.n_ctx = lc.llama_n_ctx(self.ctx)
        # llama.cpp rounds n_ctx up (to 256) and caps n_batch at n_ctx.
        self.n_batch = min(n_batch, lc.llama_n_batch(self.ctx), lc.llama_n_ubatch(self.ctx))
        self.batch = lc.llama_batch_init(n_batch, 0, 1)
        self.memory = lc.llama_get_memory(self.ctx)

    def meta(self, key):
        buf = ctypes.create_string_buffer(256)
        n = self.lc.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode() if n >= 0 else None

    def clear(self):
        """Empties the KV cache."""
        self.lc.llama_memory_clear(self.memory, True)

    def decode(self, tokens, pos):
        """One llama_decode call for `tokens` at positions pos, pos+1, ...;
        logits for the last one only. Returns the seconds the call took
        (including llama_synchronize, so all work is done)."""
        b = self.batch
        n = len(tokens)
        assert n <= self.n_batch
        for i, t in enumerate(tokens):
            b.token[i] = int(t)
            b.pos[i] = pos + i
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
            b.logits[i] = i == n - 1
        b.n_tokens = n
        start = time.perf_counter()
        rc = self.lc.llama_decode(self.ctx, b)
        self.lc.llama_synchronize(self.ctx)
        took = time.perf_counter() - start
        if rc != 0:
            die(f"llama_decode of {n} tokens at position {pos} returned {rc}")
        return took

    def logits(self):
        """The logits of the last decoded token (a numpy copy)."""
        ptr = self.lc.llama_get_logits_ith(self.ctx, -1)
        return self.np.ctypeslib.as_array(ptr, shape=(self.vocab,)).copy()

    def fill(self, tokens, pos=0):
        """Decodes `tokens` from `pos` in chunks of n_batch."""
        for i in range(0, len(tokens), self.n_batch):
            self.decode(tokens[i:i + self.n_batch], pos + i)

    def close(self):
        self.lc.llama_batch_free(self.batch)
        self.lc.llama_free(self.ctx)
        self.lc.llama_model_free(self.model)


# --------------------------------------------------------------------------
# Commands (run inside the venv).
# --------------------------------------------------------------------------

def cmd_setup(args):
    llama_cpp = load_llama_cpp(args.verbose)
    try:
        from importlib.metadata import version
        gguf_version = version("gguf")
    except Exception:
        gguf_version = "?"
    print(f"llama-cpp-python {llama_cpp.__version__}, gguf {gguf_version}, venv {sys.prefix}")
    print("llama.cpp system info:", llama_cpp.llama_print_system_info().decode().strip())
    return 0


def cmd_convert(args):
    convert(args.model, args.out, args.type, pure=args.pure, threads=args.quantize_threads,
            verbose=args.verbose)
    return 0


def cmd_check(args):
    """llama.cpp's greedy tokens and logits from BOS against llama2c_ref.py."""
    import numpy as np
    tmp = Path(tempfile.mkdtemp(prefix="llama_cpp_peer_check_"))
    try:
        gguf_path = tmp / "model.f32.gguf"
        cfg = write_f32_gguf(args.model, gguf_path)
        steps = min(args.steps, cfg["seq"])
        print(f"# {args.model}: dim {cfg['dim']}, hidden {cfg['hidden']}, {cfg['layers']} layers, "
              f"{cfg['heads']} heads ({cfg['kv_heads']} kv, head size {cfg['head']}), vocab "
              f"{cfg['vocab']}, seq {cfg['seq']}, {'shared' if cfg['shared'] else 'unshared'} classifier")

        # The numpy reference: prompt [1], `steps` greedy tokens, logits of
        # each of the `steps` fed positions.
        ref_logits = tmp / "ref.logits"
        r = subprocess.run([SYSTEM_PYTHON, str(REFERENCE), "run", str(args.model), "--steps",
                            str(steps), "--logits", str(ref_logits)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            die(f"{REFERENCE.name} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
        ref_tokens = [int(t) for t in r.stdout.split()]
        ref = np.fromfile(ref_logits, dtype="<f4").reshape(-1, cfg["vocab"])

        # llama.cpp: the same, one llama_decode per token. The strict run
        # uses an F32 KV cache and no flash attention (whose CPU kernel
        # rounds Q and V to F16), so that it measures the conversion alone;
        # a second run with llama.cpp's defaults (F16 cache, flash attention
        # auto), the settings `bench` times, is reported for information.
        llama_cpp = load_llama_cpp(args.verbose)
        FA, KV = flash_attn_types(llama_cpp), kv_types(llama_cpp)

        def greedy(kv_type, flash_attn):
            run = Runner(llama_cpp, gguf_path, cfg["seq"], 8, args.threads,
                         kv_type=KV[kv_type], flash_attn=FA[flash_attn])
            tokens, rows = [], []
            token = 1   # BOS
            for pos in range(steps):
                run.decode([token], pos)
                rows.append(run.logits())
                token = int(np.argmax(rows[-1]))
                tokens.append(token)
            run.close()
            return tokens, np.stack(rows)

        scale = float(np.abs(ref).max())
        print(f"reference tokens: {' '.join(map(str, ref_tokens))}")
        status = 0
        for kv_type, flash_attn, strict in ((args.kv_type, args.flash_attn, True),
                                            ("f16", "auto", False)):
            got_tokens, got = greedy(kv_type, flash_attn)
            same = got_tokens == ref_tokens
            # Logits are comparable up to the first differing token
            # (inclusive): after it the two runs are fed different tokens.
            first = next((i for i, (a, b) in enumerate(zip(got_tokens, ref_tokens)) if a != b), steps)
            err = float(np.abs(got[:first + 1] - ref[:first + 1]).max())
            settings = f"KV cache {kv_type}, flash attention {flash_attn}"
            if strict:
                ok = same and err <= args.rtol * scale
                status = 0 if ok else 1
                print(f"llama.cpp tokens: {' '.join(map(str, got_tokens))}")
                verdict = "PASS" if ok else "FAIL"
                limit = f", limit {args.rtol:g}"
            else:
                if not same:
                    print(f"llama.cpp tokens: {' '.join(map(str, got_tokens))} ({settings})")
                verdict, limit = "info", ""
            print(f"{verdict} {steps} steps ({settings}): tokens "
                  f"{'equal' if same else f'DIFFER from step {first} on'}; logits max |difference| "
                  f"{err:.3g}{'' if same else f' over steps 0-{first}'} (max |logit| {scale:.3g}, relative "
                  f"{err / scale:.2g}{limit})")
        return status
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_logits(args):
    """Feeds --tokens to llama.cpp one llama_decode per token (F32 KV cache,
    no flash attention, as `check` does) and writes the logits of every
    position as float32 rows (the format of quant-run --logits)."""
    import numpy as np
    tokens = [int(t) for t in args.tokens.split()]
    if not tokens:
        die("--tokens is empty")
    llama_cpp = load_llama_cpp(args.verbose)
    FA, KV = flash_attn_types(llama_cpp), kv_types(llama_cpp)
    run = Runner(llama_cpp, Path(args.model), max(args.ctx, len(tokens)), 8, args.threads,
                 kv_type=KV["f32"], flash_attn=FA["off"])
    rows = []
    for pos, token in enumerate(tokens):
        if not 0 <= token < run.vocab:
            die(f"token {token} is outside the vocabulary of {run.vocab}")
        run.decode([token], pos)
        rows.append(run.logits())
    run.close()
    np.stack(rows).astype("<f4").tofile(args.out)
    print(f"# {len(rows)} rows of {run.vocab} logits -> {args.out}")
    return 0


def build_flags():
    """The CMAKE_ARGS this venv's llama.cpp was built with (its stamp)."""
    stamp = Path(sys.prefix) / BUILD_STAMP
    if not stamp.exists():
        return f"unknown (no {BUILD_STAMP} in the venv)"
    for line in stamp.read_text().splitlines():
        if line.startswith("CMAKE_ARGS="):
            return line[len("CMAKE_ARGS="):]
    return "unknown"


def cmd_bench(args):
    """Times decode (per token, at position 0 and at --position) and prefill
    with llama.cpp, for each thread count, printing one line per number."""
    import numpy as np
    llama_cpp = load_llama_cpp(args.verbose)
    threads = [int(t) for t in args.threads.split(",") if t]
    FA, KV = flash_attn_types(llama_cpp), kv_types(llama_cpp)
    rng = np.random.default_rng(args.seed)
    positions = [0] + ([args.position] if args.position else [])
    print(f"# {cpu_model()}, {os.cpu_count()} CPUs; load: {load_average()}", flush=True)
    for t in threads:
        # Loaded once per thread count; every measurement below uses it.
        # n_ctx is the model's context, or more when --position + --decode
        # needs more (llama.cpp warns; the RoPE simply goes on, and time is
        # all that is measured here).
        n_ctx = args.ctx or max(context_length(args.model), max(positions) + args.decode + 1)
        run = Runner(llama_cpp, args.model, n_ctx, max(args.prefill, args.batch), t,
                     kv_type=KV[args.kv_type], flash_attn=FA[args.flash_attn])
        if run.n_ctx < max(positions) + args.decode:
            die(f"n_ctx {run.n_ctx} is too small for --position {max(positions)} + --decode {args.decode}")
        ftype = run.meta("general.file_type")
        qtype = args.label or FTYPE_NAMES.get(int(ftype) if ftype else -1, f"ftype{ftype}")
        vocab = run.vocab
        if t == threads[0]:
            print(f"# llama-cpp-python {llama_cpp.__version__}; model {args.model}: {qtype}, "
                  f"{tensor_types(args.model)}; n_ctx_train {run.n_ctx_train}, n_ctx {run.n_ctx}, "
                  f"n_batch=n_ubatch {run.n_batch}, KV cache {args.kv_type}, flash attention "
                  f"{args.flash_attn}", flush=True)
            # How this llama.cpp was built, so that records of different
            # days show whether the peer itself changed.
            print(f"# llama.cpp build: {build_flags()}; system info: "
                  f"{llama_cpp.llama_print_system_info().decode().strip()}", flush=True)
            print(f"# memory on 2 MiB pages after loading: {anon_huge_mib():.1f} MiB "
                  f"(GLIBC_TUNABLES {os.environ.get('GLIBC_TUNABLES', '')})", flush=True)
        prefix = f"peer=llama.cpp type={qtype} threads={t}"

        def random_tokens(n):
            return rng.integers(3, vocab, size=n).tolist()

        # Warm-up: one prefill and a few decode steps (first-touch of the
        # compute buffers, OpenMP threads).
        run.clear()
        run.decode(random_tokens(args.prefill), 0)
        for i in range(4):
            run.decode([int(np.argmax(run.logits()))], args.prefill + i)

        def decode_steps(position):
            """Per-step seconds of args.decode greedy steps from `position`."""
            run.clear()
            if position:
                run.fill(random_tokens(position))
                token = int(np.argmax(run.logits()))
            else:
                token = 1   # BOS
            times = []
            for i in range(args.decode):
                times.append(run.decode([token], position + i))
                token = int(np.argmax(run.logits()))   # greedy, outside the timing
            return times

        def prefills():
            """Seconds of args.repeat prefills of args.prefill tokens."""
            times = []
            for _ in range(args.repeat):
                run.clear()
                times.append(run.decode(random_tokens(args.prefill), 0))
            return times

        for position in positions:
            times, other, tries = measure(lambda: decode_steps(position), args)
            print(f"{prefix} what=decode position={position} "
                  f"ms_per_token={statistics.median(times) * 1e3:.3f} steps={args.decode} "
                  f"min_ms={min(times) * 1e3:.3f} other_cpu={other:.2f} tries={tries}", flush=True)

        if args.prefill:
            times, other, tries = measure(prefills, args)
            ms = statistics.median(times) * 1e3
            print(f"{prefix} what=prefill tokens={args.prefill} ms={ms:.3f} "
                  f"tokens_per_s={args.prefill / ms * 1e3:.1f} repeats={args.repeat} "
                  f"other_cpu={other:.2f} tries={tries}", flush=True)
        run.close()
    # Other work on the machine during the run skews the numbers (two
    # threads on two cores suffer most): the load average says if there was.
    print(f"# load at the end: {load_average()}", flush=True)
    return 0


def busy_seconds():
    """CPU seconds the whole machine has been busy (all CPUs, /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    """CPU seconds of this process, all threads, counted as /proc/stat counts
    (clock ticks), so that the two subtract cleanly."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.process_time()


def measure(fn, args):
    """Runs fn() (a measurement returning its times) and the share of all
    CPUs that other processes used meanwhile (other_cpu: machine busy time
    minus this process's CPU time, over wall time x CPUs; 0 on an idle
    machine). Measures again, after a pause, up to --tries times while
    other_cpu exceeds --max-other-cpu; returns (times, other_cpu, tries) of
    the least disturbed try."""
    best = None
    for attempt in range(1, args.tries + 1):
        wall, own, busy = time.perf_counter(), own_seconds(), busy_seconds()
        times = fn()
        wall = time.perf_counter() - wall
        own = own_seconds() - own
        busy = busy_seconds() - busy
        other = max(0.0, busy - own) / (wall * (os.cpu_count() or 1))
        if best is None or other < best[1]:
            best = (times, other, attempt)
        if other <= args.max_other_cpu:
            break
        if attempt < args.tries:
            note(f"other processes used {other:.0%} of the CPUs during a measurement; "
                 f"measuring again in {args.pause:g} s")
            time.sleep(args.pause)
    return best


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


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
    common.add_argument("--amx", action="store_true",
                        help="build llama.cpp with -DGGML_NATIVE=ON, AMX kernels included "
                             "(they crash here; see cmake_args)")
    common.add_argument("--rebuild", action="store_true",
                        help="rebuild llama-cpp-python in the venv")
    common.add_argument("--verbose", action="store_true", help="show llama.cpp's log")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    sub.add_parser("setup", parents=[common],
                   help="create the venv and build llama.cpp (done by every command when needed)")

    c = sub.add_parser("convert", parents=[common], help="llama2.c checkpoint -> GGUF")
    c.add_argument("model", help="llama2.c checkpoint (.bin)")
    c.add_argument("out", help="GGUF file to write")
    c.add_argument("--type", choices=["f32", "q8_0", "q4_0"], default="f32",
                   help="tensor type (default: %(default)s); q8_0/q4_0 by llama.cpp's quantizer")
    c.add_argument("--pure", action="store_true",
                   help="every matrix in --type (llama.cpp otherwise makes the classifier "
                        "q6_K for q4_0, as llama-quantize does)")
    c.add_argument("--quantize-threads", type=int, default=0,
                   help="threads for quantizing (default 0: all)")

    k = sub.add_parser("check", parents=[common],
                       help="compare llama.cpp on the F32 GGUF with llama2c_ref.py")
    k.add_argument("model", help="llama2.c checkpoint (.bin)")
    k.add_argument("--steps", type=int, default=32, help="greedy steps from BOS (default: %(default)s)")
    k.add_argument("--rtol", type=float, default=1e-4,
                   help="limit on max |logit difference| / max |logit| (default: %(default)s)")
    k.add_argument("--kv-type", choices=["f32", "f16"], default="f32",
                   help="llama.cpp's KV cache type in the strict run (default: %(default)s)")
    k.add_argument("--flash-attn", choices=["auto", "on", "off"], default="off",
                   help="llama.cpp's flash attention in the strict run (default: %(default)s)")
    k.add_argument("--threads", type=int, default=1, help="llama.cpp threads (default: %(default)s)")

    b = sub.add_parser("bench", parents=[common], help="time decode and prefill")
    b.add_argument("model", help="GGUF file (from convert)")
    b.add_argument("--threads", default="1", help="comma-separated thread counts (default: %(default)s)")
    b.add_argument("--decode", type=int, default=128,
                   help="timed decode steps, one token per llama_decode (default: %(default)s)")
    b.add_argument("--prefill", type=int, default=128,
                   help="tokens of the timed prefill, one llama_decode (default: %(default)s; 0: none)")
    b.add_argument("--position", type=int, default=1000,
                   help="also time decode after filling the cache to this position "
                        "(default: %(default)s; 0: only at position 0)")
    b.add_argument("--repeat", type=int, default=5, help="prefill repetitions; the median is printed")
    b.add_argument("--batch", type=int, default=512,
                   help="n_batch = n_ubatch: the chunk size of the cache fill (default: %(default)s; "
                        "at least --prefill)")
    b.add_argument("--ctx", type=int, default=0,
                   help="n_ctx (default: the model's, or --position + --decode + 1 if larger)")
    b.add_argument("--kv-type", choices=["f16", "f32", "q8_0"], default="f16",
                   help="llama.cpp's KV cache type (default: %(default)s, llama.cpp's default)")
    b.add_argument("--flash-attn", choices=["auto", "on", "off"], default="auto",
                   help="llama.cpp's flash attention (default: %(default)s, llama.cpp's default)")
    b.add_argument("--label", help="type= to print instead of the file's type")
    b.add_argument("--max-other-cpu", type=float, default=0.05,
                   help="measure again when other processes used more than this share of "
                        "the CPUs meanwhile (printed as other_cpu=; default: %(default)s)")
    b.add_argument("--tries", type=int, default=3,
                   help="at most this many tries per measurement; the least disturbed one "
                        "is printed (default: %(default)s)")
    b.add_argument("--pause", type=float, default=20,
                   help="seconds to wait before measuring again (default: %(default)s)")
    b.add_argument("--seed", type=int, default=0, help="for the random token ids")

    lg = sub.add_parser("logits", parents=[common],
                        help="llama.cpp's logits of every token of a prompt, as float32 rows")
    lg.add_argument("model", help="GGUF file")
    lg.add_argument("--tokens", required=True, help="token ids separated by spaces")
    lg.add_argument("--out", required=True, help="file for the logits")
    lg.add_argument("--ctx", type=int, default=256, help="context to allocate (default: %(default)s)")
    lg.add_argument("--threads", type=int, default=1, help="llama.cpp threads (default: %(default)s)")

    args = p.parse_args()
    ensure_venv(args)
    return {"setup": cmd_setup, "convert": cmd_convert, "check": cmd_check,
            "bench": cmd_bench, "logits": cmd_logits}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
