#!/usr/bin/env python3
"""check_blob.py MODULE.mlir CHECKPOINT NAME OFFSET [--rotate-half HEAD ROW]:
says whether the dense_resource blob NAME in the text module holds the
checkpoint's bytes from OFFSET on (after the blob's 4-byte alignment
prefix). With --rotate-half, the file's rows of ROW bytes are expected in
rotate-half RoPE order: within each head of HEAD rows, the even rows
(the first members of the interleaved pairs), then the odd ones."""
import re
import sys

args = sys.argv[1:]
head = row = None
if "--rotate-half" in args:
    i = args.index("--rotate-half")
    head, row = int(args[i + 1]), int(args[i + 2])
    del args[i:i + 3]
text = open(args[0]).read()
data = open(args[1], "rb").read()
name, offset = args[2], int(args[3])
m = re.search(r'\b%s: "0x([0-9A-F]*)"' % re.escape(name), text)
if not m:
    sys.exit(f"no blob {name}")
blob = bytes.fromhex(m.group(1))
payload = blob[4:]
expected = data[offset:offset + len(payload)]
if head:
    rows = [expected[r * row:(r + 1) * row] for r in range(len(payload) // row)]
    order = [h + j for h in range(0, len(rows), head)
             for j in list(range(0, head, 2)) + list(range(1, head, 2))]
    expected = b"".join(rows[r] for r in order)
print(f"{name}: alignment {int.from_bytes(blob[:4], 'little')}, {len(payload)} bytes,",
      "equal" if payload == expected else "DIFFERENT",
      f"to the file's bytes {offset}..{offset + len(payload)}"
      + (f" in rotate-half order (heads of {head} rows of {row} bytes)" if head else ""))
