#!/usr/bin/env bash
# Builds the protocol/runtime fuzz target with clang-14 (libFuzzer + ASan + UBSan), writes a
# small seed corpus (HELLO, INFO, LIST, LOGS, an install of a tiny module, START, SNAPSHOT,
# RESET) and fuzzes for the given number of seconds (default 60). Extra args go to libFuzzer.
#   bash firmware/ports/posix/tests/fuzz-protocol.sh 60
set -euo pipefail
cd "$(dirname "$0")/../../../.."
secs="${1:-60}"
shift || true
out=build/fuzz-protocol
mkdir -p "$out/corpus"
srcs=(firmware/runtime/src/*.c firmware/engine/src/*.c firmware/hal/generated/lq_hal_dispatch.c
  firmware/ports/posix/flash_sim.c firmware/ports/posix/sim.c firmware/ports/posix/tests/fuzz_protocol.c)
clang-14 -std=c99 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Ifirmware/runtime/include -Ifirmware/engine/include -Ifirmware/engine/src -Ifirmware/hal/generated \
  -Ifirmware/ports/posix -DLQ_RUNTIME_ARENA_SIZE='(1024u*1024u)' -DLQ_SNAPSHOT_MAX='(64u*1024u)' \
  "${srcs[@]}" -lm -o "$out/fuzz_protocol"
python3 - "$out/corpus" <<'PY'
import hashlib, struct, sys, os
out = sys.argv[1]
wasm = bytes([0,0x61,0x73,0x6d,1,0,0,0, 1,4,1,0x60,0,0, 3,2,1,0, 7,9,1,5]) + b"start" + bytes([0,0, 0x0a,4,1,2,0,0x0b])
sha = hashlib.sha256(wasm).digest()
man = b'{"liquid":1,"name":"tiny","version":"1.0.0","capabilities":[],"resources":{"pins":[],"buses":[]}}'
def req(cmd, body=b""): return bytes([0, cmd]) + struct.pack("<H", len(body)) + body
def str8(s): return bytes([len(s)]) + s
seeds = {
  "hello": req(1, b"\x01") + req(2) + req(0x13) + req(0x20, b"\0\0\0\0\x01"),
  "install": req(0x10, str8(b"tiny") + struct.pack("<I", len(wasm)) + sha + struct.pack("<H", len(man)) + man)
     + req(0x11, sha + struct.pack("<I", 0) + wasm) + req(0x12, sha + b"\x03") + bytes([5, 20])
     + req(0x13) + req(0x40, str8(b"tiny") + b"\0") + req(0x41, str8(b"tiny") + struct.pack("<IH", 0, 4000))
     + req(0x15, str8(b"tiny")) + req(0x16, str8(b"tiny")),
  "reset": req(0x17, str8(b"tiny") + b"\x01") + req(3, b"\x00") + bytes([4, 0xf4, 1]) + req(1, b"\x01"),
  "garbage": bytes([1, 12]) + b"LQ\x01\x01\x00\x01\x00\xff\x0fjunk" + bytes([3]) + req(1, b"\x01"),
}
for name, data in seeds.items():
    open(os.path.join(out, name), "wb").write(data)
PY
exec "$out/fuzz_protocol" "$out/corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 "$@"
