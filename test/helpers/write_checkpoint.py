#!/usr/bin/env python3
"""Writes a llama2.c-style file: seven int32 header fields, then N zero floats.

  write_checkpoint.py OUT dim hidden layers heads kv_heads vocab seq FLOATS
  write_checkpoint.py OUT --raw BYTES      (just BYTES zero bytes)
"""
import struct
import sys

out = sys.argv[1]
with open(out, "wb") as f:
    if sys.argv[2] == "--raw":
        f.write(bytes(int(sys.argv[3])))
    else:
        fields = [int(v) for v in sys.argv[2:9]]
        f.write(struct.pack("<7i", *fields))
        f.write(bytes(4 * int(sys.argv[9])))
