"""Python's zlib (the C library) as the judge of our 8-bit-window DEFLATE (RFC 7692 §7.1.2).

Reads lines from stdin: `LEVEL` starts a new stream (one inflater with wbits=-8, a true
256-byte window, kept across messages as with context takeover); `HEX_PAYLOAD HEX_MESSAGE`
is one compressed message (tail removed) and what it must inflate to. Output is taken one
byte per call, so every match must reach back into zlib's own 256-byte window (in one big
call zlib also accepts matches into the output buffer it is filling). Prints one JSON line:
{"messages": N, "ok": N, "errors": [...]}.
"""

import json
import sys
import zlib


def main() -> None:
    report = {"messages": 0, "ok": 0, "errors": []}
    inflater = None
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 1:
            inflater = zlib.decompressobj(-8)
            continue
        payload, message = (bytes.fromhex(p) for p in parts)
        report["messages"] += 1
        try:
            got = b""
            data = payload + b"\x00\x00\xff\xff"
            while True:
                chunk = inflater.decompress(data, 1)
                got += chunk
                data = inflater.unconsumed_tail
                if not chunk and not data:
                    break
        except zlib.error as e:
            report["errors"].append(str(e))
            inflater = zlib.decompressobj(-8)
            continue
        if got == message:
            report["ok"] += 1
        else:
            report["errors"].append(f"{len(got)} bytes differ from {len(message)}")
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
