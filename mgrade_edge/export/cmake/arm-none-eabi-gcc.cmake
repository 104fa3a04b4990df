# CMake toolchain file for bare-metal Arm Cortex-M with the GNU Arm toolchain (arm-none-eabi-gcc), shipped
# with mgrade-edge and copied into every bundle as cmake/arm-none-eabi-gcc.cmake.
#
#   cmake -S bundle -B build -DCMAKE_TOOLCHAIN_FILE=bundle/cmake/arm-none-eabi-gcc.cmake -DMGRADE_CPU=cortex-m4
#
# MGRADE_CPU        -mcpu value (cortex-m0plus, cortex-m3, cortex-m4, cortex-m7, cortex-m33, cortex-m55, ...)
# MGRADE_FLOAT_ABI  soft (default), softfp or hard (hard needs a core with an FPU, e.g. cortex-m4 with -mfpu)
# MGRADE_QEMU_MACHINE  optional QEMU machine (e.g. mps2-an386): ctest then runs programs under
#                   qemu-system-arm with semihosting and -icount shift=0, as mgrade-edge board-test does.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(MGRADE_CPU "cortex-m4" CACHE STRING "The -mcpu value")
set(MGRADE_FLOAT_ABI "soft" CACHE STRING "The -mfloat-abi value")
set(MGRADE_QEMU_MACHINE "" CACHE STRING "QEMU machine that runs test programs (empty: none)")
# try_compile and the cache see these on every configure
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MGRADE_CPU MGRADE_FLOAT_ABI)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # no start code or linker script needed to probe the compiler

set(_mgrade_arch "-mcpu=${MGRADE_CPU} -mthumb -mfloat-abi=${MGRADE_FLOAT_ABI}")
set(CMAKE_C_FLAGS_INIT "${_mgrade_arch}")
set(CMAKE_CXX_FLAGS_INIT "${_mgrade_arch}")
set(CMAKE_ASM_FLAGS_INIT "${_mgrade_arch}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_mgrade_arch}")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

if(MGRADE_QEMU_MACHINE)
  string(REGEX REPLACE "\\+.*" "" _mgrade_qemu_cpu "${MGRADE_CPU}")
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-system-arm -M ${MGRADE_QEMU_MACHINE} -cpu ${_mgrade_qemu_cpu} -nographic
      -monitor none -serial none -semihosting-config enable=on,target=native -icount shift=0 -kernel)
endif()
