// TensorFlow Lite Micro's timer port for host builds: no timer (ticks_per_second() == 0 tells the
// caller that nothing is measured), the same as the reference micro_time.cc without TF_LITE_USE_CTIME.
#include "tensorflow/lite/micro/micro_time.h"

namespace tflite {

uint32_t ticks_per_second() { return 0; }

uint32_t GetCurrentTimeTicks() { return 0; }

}  // namespace tflite
