#!/usr/bin/env bash
# The quick start's main job, end to end on this machine: install what is missing, compile the
# toolchain, build the example apps with `liquid build`, run them on the simulated board
# (boards/sim-devkit.json) in virtual time with `liquid sim`, then start a real firmware process
# (the posix port) and deploy apps to it over the device protocol, as to a board.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
liquid() { node bin/liquid.js "$@"; }

scenario="$(mktemp)"
device_log="$(mktemp)"
device_pid=""
cleanup() {
  if [ -n "$device_pid" ]; then kill "$device_pid" 2>/dev/null || true; wait "$device_pid" 2>/dev/null || true; fi
  rm -f "$scenario" "$device_log"
}
trap cleanup EXIT

step "setup and compile the toolchain"
bash scripts/setup.sh >/dev/null
npx tsc -p tsconfig.json

step "build the example apps (AssemblyScript -> wasm + manifest)"
liquid build examples/blinky examples/button examples/thermometer examples/weather examples/alarm

step "blinky on the simulated devkit: LED0 toggles every 500 ms"
liquid sim examples/blinky/build/blinky.wasm --for 2s

step "thermometer: logs the TMP105 every second; LED2 lights above 25.00 C (sensor set to 26.5 C)"
liquid sim examples/thermometer/build/thermometer.wasm --for 2s --set I2C0.tmp105.temperature=26.5

step "weather: the BME280 read through its calibration; the sensor set to -5 C, 990 hPa, 80 %RH"
liquid sim examples/weather/build/weather.wasm --for 2s --set I2C0.bme280.temperature=-5 \
  --set I2C0.bme280.pressure=99000 --set I2C0.bme280.humidity=80

step "weather + alarm on one board: humidity set to 75 %RH at 3 s, 50 %RH at 7 s; alarm drives LED3"
cat >"$scenario" <<'JSON'
[{ "t": 3000, "set": "I2C0.bme280.humidity", "value": 75 }, { "t": 7000, "set": "I2C0.bme280.humidity", "value": 50 }]
JSON
liquid sim examples/weather/build/weather.wasm examples/alarm/build/alarm.wasm --for 9s --scenario "$scenario"

step "button: BUTTON0 pressed at 1 s and 3 s (debounced) toggles LED1"
cat >"$scenario" <<'JSON'
[{ "t": 1000, "set": "BUTTON0", "value": 1 }, { "t": 1200, "set": "BUTTON0", "value": 0 },
 { "t": 3000, "set": "BUTTON0", "value": 1 }, { "t": 3200, "set": "BUTTON0", "value": 0 }]
JSON
liquid sim examples/button/build/button.wasm --for 4s --scenario "$scenario"

step "a device: the Liquid firmware as a Linux process (posix port), protocol over TCP"
liquid emulate --board posix >"$device_log" 2>&1 &
device_pid=$!
port=""
for _ in $(seq 1 600); do
  port="$(grep -o 'tcp://127.0.0.1:[0-9]*' "$device_log" | head -1 || true)"
  [ -n "$port" ] && break
  if ! kill -0 "$device_pid" 2>/dev/null; then cat "$device_log"; echo "demo: the device did not start" >&2; exit 1; fi
  sleep 0.5
done
[ -n "$port" ] || { cat "$device_log"; echo "demo: the device did not start in time" >&2; exit 1; }
echo "device at $port"

step "deploy blinky and thermometer to it (upload, hash check, start), then list its apps"
liquid deploy examples/blinky --start --port "$port"
liquid deploy examples/thermometer --start --port "$port"
liquid ps --port "$port"
liquid info --port "$port"

step "what the device did in the next 2.5 s: its LED events and its log"
sleep 2.5
grep -E "LED|started" "$device_log" | tail -8
liquid logs --port "$port" | tail -4
