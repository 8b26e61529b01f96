# Build options shared by every Liquid C target.
option(LIQUID_SANITIZE "Build posix targets with AddressSanitizer and UBSan" OFF)
# Dispatch: computed goto (direct threading) is faster on hosts with branch predictors; the
# switch loop is ~3 KB smaller on Cortex-M (see docs/engine.md), so cross builds default to it.
if(CMAKE_CROSSCOMPILING)
  option(LIQUID_ENGINE_THREADED "Engine dispatch with computed goto (GCC/Clang) instead of switch" OFF)
else()
  option(LIQUID_ENGINE_THREADED "Engine dispatch with computed goto (GCC/Clang) instead of switch" ON)
endif()

if(CMAKE_CROSSCOMPILING)
  set(LIQUID_PORT "qemu" CACHE STRING "Target port: posix, qemu, nrf52840")
else()
  set(LIQUID_PORT "posix" CACHE STRING "Target port: posix, qemu, nrf52840")
endif()
set_property(CACHE LIQUID_PORT PROPERTY STRINGS posix qemu nrf52840)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

# Warnings for our own code (third-party code, if any, should not use this).
set(LIQUID_WARNINGS -Wall -Wextra -Werror)

if(LIQUID_SANITIZE AND LIQUID_PORT STREQUAL "posix")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
