#!/usr/bin/env bash
# Builds liquid-vm for a Cortex-M4F (QEMU mps2-an386) with newlib's semihosting C library, so
# the spec scripts run on the ARM core with files and output on the host:
#   bash firmware/engine/vm/arm/build.sh            -> build/vm-qemu/liquid-vm.elf
#   qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
#     -semihosting-config enable=on,target=native,arg=liquid-vm,arg=--spectest,arg=SCRIPT.json \
#     -kernel build/vm-qemu/liquid-vm.elf
# Same flags as the firmware's cross build (cmake/arm-none-eabi.cmake), -O2 for speed.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
engine=firmware/engine
out=build/vm-qemu
mkdir -p "$out"
cpu=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
common=("${cpu[@]}" -O2 -std=c99 -ffunction-sections -fdata-sections -I"$engine/include")
objs=()
# The engine with its own warning policy; the runner with -Werror like the posix build.
for src in "$engine"/src/*.c; do
  obj="$out/$(basename "${src%.c}").o"
  arm-none-eabi-gcc "${common[@]}" -Wall -Wextra -I"$engine/src" -c "$src" -o "$obj"
  objs+=("$obj")
done
for src in "$engine"/vm/*.c "$engine"/vm/arm/startup.c; do
  obj="$out/vm_$(basename "${src%.c}").o"
  arm-none-eabi-gcc "${common[@]}" -Wall -Wextra -Werror -I"$engine/vm" -c "$src" -o "$obj"
  objs+=("$obj")
done
arm-none-eabi-gcc "${cpu[@]}" --specs=rdimon.specs -T "$engine/vm/arm/mps2_vm.ld" -Wl,--gc-sections \
  "${objs[@]}" -lm -o "$out/liquid-vm.elf"
echo "$out/liquid-vm.elf"
