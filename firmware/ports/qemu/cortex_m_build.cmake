# Settings shared by the Cortex-M firmware images (qemu mps2-an386, nrf52840), included by
# their CMakeLists.txt. They adjust the shared libraries (engine, runtime, HAL) of this
# build directory, which only ever builds one port.

set(LIQUID_MCU_ARENA_SIZE 165888 CACHE STRING "engine arena bytes on the MCU ports")

# -Os on 32-bit ARM brings warnings that the 64-bit posix build does not see; they are
# false positives (the generated dispatch's out-parameters are set on every success path)
# or guards sized for a 64-bit long, and must not fail the cross build under -Werror.
if(TARGET liquid_hal)
  target_compile_options(liquid_hal PRIVATE -Wno-maybe-uninitialized)
endif()
if(TARGET liquid_runtime_core)
  target_compile_options(liquid_runtime_core PRIVATE -Wno-type-limits)
endif()
# The runtime formats 64-bit times with %llu, which newlib-nano's printf does not support:
# link these images against full newlib (about 10 KiB more code).
string(REPLACE "--specs=nano.specs" "" CMAKE_EXE_LINKER_FLAGS "${CMAKE_EXE_LINKER_FLAGS}")
# newlib's libm (the engine's float ops: floor, sqrt, fmod...) must come after the engine.
if(TARGET liquid_engine)
  target_link_libraries(liquid_engine INTERFACE m)
endif()
# The runtime's memory budget on a 256 KiB part (see docs/ports.md for the arithmetic): the
# engine arena holds modules, instances and each app's 64 KiB linear-memory page.
set(LIQUID_MCU_RUNTIME_LIMITS
  LQ_RUNTIME_ARENA_SIZE=${LIQUID_MCU_ARENA_SIZE}
  LQ_MODULE_MAX=12288
  LQ_APP_MAX_PAGES=1
  LQ_MAX_APPS=2
  LQ_VALUE_STACK_SLOTS=512
  LQ_CALL_DEPTH=64
  LQ_TX_FRAMES=2
  LQ_LOG_KEEP=16
  LQ_SNAPSHOT_MAX=16384)
if(TARGET liquid_runtime)
  target_compile_definitions(liquid_runtime PRIVATE ${LIQUID_MCU_RUNTIME_LIMITS})
endif()

