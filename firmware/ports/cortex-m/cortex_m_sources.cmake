# The sources every Cortex-M port compiles into its board library (startup, faults, newlib
# syscalls, stack guard), with their include directory. Included by the ports' CMakeLists.txt;
# each port provides the hooks listed at the end of cortex_m.h.
set(LIQUID_CORTEX_M_DIR ${CMAKE_CURRENT_LIST_DIR})
set(LIQUID_CORTEX_M_SOURCES
  ${LIQUID_CORTEX_M_DIR}/reset.c
  ${LIQUID_CORTEX_M_DIR}/fault_entry.c
  ${LIQUID_CORTEX_M_DIR}/syscalls.c
  ${LIQUID_CORTEX_M_DIR}/stack_guard.c
)
