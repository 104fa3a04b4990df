// TensorFlow Lite Micro's timer port (tensorflow/lite/micro/micro_time.h) for the QEMU Cortex-M
// machines: the SysTick counter started by startup.c, at the processor clock given by
// MGRADE_BOARD_CLOCK_HZ. Under QEMU -icount shift=0 one tick is 1e9 / clock_hz instructions.
#include "tensorflow/lite/micro/micro_time.h"

extern "C" uint32_t mgrade_systick_now(void);

namespace tflite {

uint32_t ticks_per_second() { return MGRADE_BOARD_CLOCK_HZ; }

uint32_t GetCurrentTimeTicks() { return mgrade_systick_now(); }

}  // namespace tflite
