#!/usr/bin/env python3
"""Pulls the PTX out of gpu.binary ops (gpu-module-to-binary{format=isa}) and
runs ptxas on it.

`extract` prints every kernel's PTX as plain text, each after a line
`// ---- <binary name> ----`, so FileCheck can read it.
`ptxas` assembles every kernel with `ptxas -arch=<arch> -v` for each --arch
and fails unless each succeeds with "0 bytes spill stores, 0 bytes spill
loads"; it prints one line per kernel and arch with the registers, spills and
shared memory, and with --table a markdown table of the same.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

BINARY = re.compile(r'gpu\.binary @(\w+)\s.*?assembly = "((?:[^"\\]|\\.)*)"')


def unescape(s):
    """MLIR string escapes: \\XX hex bytes, \\\\ and \\"."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            nxt = s[i + 1]
            if nxt in "\\\"":
                out.append(ord(nxt))
                i += 2
            else:
                out.append(int(s[i + 1:i + 3], 16))
                i += 3
        else:
            out.extend(c.encode())
            i += 1
    return out.decode()


def kernels(text):
    found = [(m.group(1), unescape(m.group(2))) for m in BINARY.finditer(text)]
    if not found:
        sys.exit("error: no gpu.binary with PTX assembly in the input")
    return found


def extract(args):
    for name, ptx in kernels(sys.stdin.read()):
        print(f"// ---- {name} ----")
        print(ptx)
    return 0


INFO = re.compile(r"Used (\d+) registers")
SPILL = re.compile(r"(\d+) bytes spill stores, (\d+) bytes spill loads")
SMEM = re.compile(r"(\d+) bytes smem")


def ptxas(args):
    found = kernels(sys.stdin.read())
    rows = []
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name, ptx in found:
            src = os.path.join(tmp, name + ".ptx")
            with open(src, "w") as f:
                f.write(ptx)
            for arch in args.arch:
                # The PTX says which target it was generated for; ptxas
                # assembles it for `arch` (sm_80 PTX runs on sm_90 too).
                proc = subprocess.run(
                    [args.ptxas, f"-arch={arch}", "-v", "-o", os.devnull, src],
                    capture_output=True, text=True)
                log = proc.stdout + proc.stderr
                regs, spill, smem = INFO.search(log), SPILL.search(log), SMEM.search(log)
                if proc.returncode != 0 or not regs or not spill:
                    print(f"FAIL {name} {arch}: ptxas exit {proc.returncode}\n{log}")
                    failed = True
                    continue
                stores, loads = int(spill.group(1)), int(spill.group(2))
                status = "OK" if stores == 0 and loads == 0 else "SPILL"
                failed |= status != "OK"
                shared = int(smem.group(1)) if smem else 0
                print(f"{status} {name} {arch}: {regs.group(1)} registers, "
                      f"{stores} bytes spill stores, {loads} bytes spill loads, "
                      f"{shared} bytes smem")
                rows.append((name, arch, regs.group(1), stores, loads, shared))
    if args.table:
        print("| kernel | arch | registers | spill stores | spill loads | shared memory (bytes) |")
        print("|---|---|---:|---:|---:|---:|")
        for r in rows:
            print("| " + " | ".join(map(str, r)) + " |")
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("extract")
    a = sub.add_parser("ptxas")
    a.add_argument("--arch", action="append", required=True)
    a.add_argument("--ptxas", default=shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas",
                   help="default: ptxas on PATH (lit puts the CUDA toolkit's bin there)")
    a.add_argument("--table", action="store_true")
    args = p.parse_args()
    return extract(args) if args.cmd == "extract" else ptxas(args)


if __name__ == "__main__":
    sys.exit(main())
