$banner
// Streams the golden input (real input recorded at export time) through the model and compares
// every logit with what the TFLite Micro Python interpreter produced for the same input. Prints
// PASS or FAIL and returns 0 on PASS, 1 on FAIL, so a test runner (or `mgrade-edge board-test`)
// can use the exit code.
//
// Optional argument: an arena size in bytes (at most the static arena) to try instead of the whole
// arena; `mgrade-edge board-test` searches the smallest working arena this way, one run per size.
// A second argument "record" also prints every quantised output ("Y <step> <index> <value>"): export
// records the golden this way with the TensorFlow Lite Micro sources the bundle is built with.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "golden_io.h"
#include "mgrade_model.h"
#include "mgrade_stream.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_time.h"
#include "tensorflow/lite/micro/system_setup.h"
#if __has_include("tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h")
// Trees made for cortex_m_generic route DebugLog (hence MicroPrintf) to a callback the
// application registers; until then they print nothing.
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#define MGRADE_DEBUG_LOG_CALLBACK 1
#endif

// Capacity of the static arena; a build may raise it (-DMGRADE_ARENA_CAPACITY=...) to try larger arenas.
#ifndef MGRADE_ARENA_CAPACITY
#define MGRADE_ARENA_CAPACITY ${ns}::kTensorArenaSize
#endif

namespace {
alignas(16) uint8_t g_arena[MGRADE_ARENA_CAPACITY];

#if MGRADE_DEBUG_LOG_CALLBACK
void print_to_stdout(const char* text) {
  std::fputs(text, stdout);
  std::fflush(stdout);
}
#endif
}  // namespace

int main(int argc, char** argv) {
  using namespace ${ns};
  tflite::InitializeTarget();
#if MGRADE_DEBUG_LOG_CALLBACK
  RegisterDebugLogCallback(print_to_stdout);
#endif
  size_t arena_size = sizeof(g_arena);
  if (argc > 1) {
    const long requested = std::strtol(argv[1], nullptr, 10);
    if (requested <= 0 || static_cast<size_t>(requested) > sizeof(g_arena)) {
      MicroPrintf("FAIL: arena size %s is not between 1 and %d bytes", argv[1], static_cast<int>(sizeof(g_arena)));
      return 1;
    }
    arena_size = static_cast<size_t>(requested);
  }
  if (!init(g_arena, arena_size)) {
    MicroPrintf("FAIL: init with a %d-byte arena", static_cast<int>(arena_size));
    return 1;
  }
  const bool record = argc > 2 && std::strcmp(argv[2], "record") == 0;
  float logits[kOutputLength];
  int worst_steps = 0;
  int worst_at = -1;
  uint32_t ticks = 0;  // inside step() only: quantisation, invoke, dequantisation, state feedback
  for (int t = 0; t < kGoldenSteps; ++t) {
    const uint32_t start = tflite::GetCurrentTimeTicks();
    const bool stepped = step(&kGoldenInput[t * kInputLength], logits);
    ticks += tflite::GetCurrentTimeTicks() - start;
    if (!stepped) {
      MicroPrintf("FAIL: step %d", t);
      return 1;
    }
    for (int c = 0; record && c < kOutputLength; ++c) {  // one value a line: MicroPrintf ends each call's line
      MicroPrintf("Y %d %d %d", t, c, static_cast<int>(std::lround(logits[c] / kYScale)) + kYZeroPoint);
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
                static_cast<int>(arena_used_bytes()), static_cast<int>(arena_size));
  } else {
    MicroPrintf("%s: %d steps, worst error %d quantisation steps at step %d (tolerance %d); arena used %d of %d bytes",
                pass ? "PASS" : "FAIL", kGoldenSteps, worst_steps, worst_at, kGoldenToleranceSteps,
                static_cast<int>(arena_used_bytes()), static_cast<int>(arena_size));
  }
  if (tflite::ticks_per_second() > 0) {  // 0: the platform has no timer (TFLite Micro's default)
    MicroPrintf("TIME: %d steps took %d ticks at %d ticks per second", kGoldenSteps, static_cast<int>(ticks),
                static_cast<int>(tflite::ticks_per_second()));
  }
  return pass ? 0 : 1;
}
