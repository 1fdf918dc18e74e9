#!/usr/bin/env python3
"""check_blob.py MODULE.mlir CHECKPOINT NAME OFFSET: says whether the
dense_resource blob NAME in the text module holds the checkpoint's bytes
from OFFSET on (after the blob's 4-byte alignment prefix)."""
import re
import sys

text = open(sys.argv[1]).read()
data = open(sys.argv[2], "rb").read()
name, offset = sys.argv[3], int(sys.argv[4])
m = re.search(r'\b%s: "0x([0-9A-F]*)"' % re.escape(name), text)
if not m:
    sys.exit(f"no blob {name}")
blob = bytes.fromhex(m.group(1))
payload = blob[4:]
print(f"{name}: alignment {int.from_bytes(blob[:4], 'little')}, {len(payload)} bytes,",
      "equal" if payload == data[offset:offset + len(payload)] else "DIFFERENT",
      f"to the file's bytes {offset}..{offset + len(payload)}")
