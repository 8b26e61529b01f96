#!/usr/bin/env bash
# The quick start's main job, end to end on this machine: compile the toolchain, build the
# example apps with `liquid build`, and run them on the simulated board (boards/sim-devkit.json)
# in virtual time with `liquid sim`. Later sections (real firmware, QEMU, migration) are
# appended by their owners.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
liquid() { node bin/liquid.js "$@"; }

scenario="$(mktemp)"
trap 'rm -f "$scenario"' EXIT

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
