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

# The port's board library (an OBJECT library): the port's own SOURCES plus the shared ones,
# with the port's directory, this one and the runtime's headers on the include path of
# everything that links it. Called from a port's CMakeLists.txt, which sets LIQUID_ROOT.
function(liquid_cortex_m_board_library target)
  add_library(${target} OBJECT ${LIQUID_CORTEX_M_SOURCES} ${ARGN})
  target_include_directories(${target} PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR}
    ${LIQUID_CORTEX_M_DIR}
    ${LIQUID_ROOT}/firmware/runtime/include)
  target_compile_options(${target} PRIVATE ${LIQUID_WARNINGS})
endfunction()
