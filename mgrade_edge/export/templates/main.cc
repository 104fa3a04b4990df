$banner
// Streams the golden input (real input recorded at export time) through the model and compares
// every logit with what the TFLite Micro Python interpreter produced for the same input, with the
// same arena size. Prints PASS or FAIL; returns 0 on PASS.
#include <cmath>
#include <cstdint>

#include "golden_io.h"
#include "mgrade_model.h"
#include "mgrade_stream.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/system_setup.h"

namespace {
alignas(16) uint8_t g_arena[${ns}::kTensorArenaSize];
}  // namespace

int main() {
  using namespace ${ns};
  tflite::InitializeTarget();
  if (!init(g_arena, sizeof(g_arena))) {
    MicroPrintf("FAIL: init");
    return 1;
  }
  float logits[kOutputLength];
  int worst_steps = 0;
  int worst_at = -1;
  for (int t = 0; t < kGoldenSteps; ++t) {
    if (!step(&kGoldenInput[t * kInputLength], logits)) {
      MicroPrintf("FAIL: step %d", t);
      return 1;
    }
    for (int c = 0; c < kOutputLength; ++c) {
      const float expected = static_cast<float>(kGoldenOutput[t * kOutputLength + c] - kYZeroPoint) * kYScale;
      // Outputs are multiples of kYScale, so this is an exact count of quantisation steps.
      const int steps = static_cast<int>(std::lround(std::fabs(logits[c] - expected) / kYScale));
      if (steps > worst_steps) {
        worst_steps = steps;
        worst_at = t;
      }
    }
  }
  const bool pass = worst_steps <= kGoldenToleranceSteps;
  if (worst_steps == 0) {
    MicroPrintf("PASS: %d steps, every logit equals the golden output; arena used %d of %d bytes", kGoldenSteps,
                static_cast<int>(arena_used_bytes()), static_cast<int>(kTensorArenaSize));
  } else {
    MicroPrintf("%s: %d steps, worst error %d quantisation steps at step %d (tolerance %d); arena used %d of %d bytes",
                pass ? "PASS" : "FAIL", kGoldenSteps, worst_steps, worst_at, kGoldenToleranceSteps,
                static_cast<int>(arena_used_bytes()), static_cast<int>(kTensorArenaSize));
  }
  return pass ? 0 : 1;
}
