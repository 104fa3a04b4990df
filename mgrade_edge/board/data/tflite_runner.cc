// Runs any int8 .tflite under TensorFlow Lite Micro (mgrade-edge board-test MODEL.tflite): one input the
// host drew at random, the interpreter invoked kInvokes times, the output compared with LiteRT's for the
// same input (reference kernels) within kToleranceSteps quantisation steps. Prints "PASS:"/"FAIL:" with
// the arena used, and "TIME:" with the timer ticks inside Invoke(); exit code 0 on PASS.
// Optional argument: the arena size in bytes to try (at most the static arena), for the smallest-arena
// search.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runner_case.h"
#include "runner_ops.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_time.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "tensorflow/lite/schema/schema_generated.h"
#if __has_include("tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h")
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#define MGRADE_DEBUG_LOG_CALLBACK 1
#endif

#ifndef MGRADE_ARENA_CAPACITY
#define MGRADE_ARENA_CAPACITY 262144
#endif

extern const unsigned char g_runner_model[];

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
  const tflite::Model* model = tflite::GetModel(g_runner_model);
  RunnerOpResolver resolver;
  if (RegisterRunnerOps(resolver) != kTfLiteOk) {
    MicroPrintf("FAIL: registering the ops");
    return 1;
  }
  tflite::MicroInterpreter interpreter(model, resolver, g_arena, arena_size);
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    MicroPrintf("FAIL: AllocateTensors with a %d-byte arena", static_cast<int>(arena_size));
    return 1;
  }
  TfLiteTensor* input = interpreter.input(0);
  TfLiteTensor* output = interpreter.output(0);
  if (input->bytes != sizeof(kRunnerInput) || output->bytes != sizeof(kRunnerExpected)) {
    MicroPrintf("FAIL: the model's input/output sizes (%d, %d) are not the case's", static_cast<int>(input->bytes),
                static_cast<int>(output->bytes));
    return 1;
  }
  uint32_t ticks = 0;
  for (int i = 0; i < kInvokes; ++i) {
    std::memcpy(input->data.int8, kRunnerInput, sizeof(kRunnerInput));
    const uint32_t start = tflite::GetCurrentTimeTicks();
    const TfLiteStatus status = interpreter.Invoke();
    ticks += tflite::GetCurrentTimeTicks() - start;
    if (status != kTfLiteOk) {
      MicroPrintf("FAIL: Invoke %d", i);
      return 1;
    }
  }
  int worst = 0;
  for (size_t c = 0; c < sizeof(kRunnerExpected); ++c) {
    const int d = std::abs(static_cast<int>(output->data.int8[c]) - static_cast<int>(kRunnerExpected[c]));
    if (d > worst) worst = d;
  }
  const bool pass = worst <= kToleranceSteps;
  MicroPrintf("%s: %d invokes, worst output error %d steps vs LiteRT (tolerance %d); arena used %d of %d bytes",
              pass ? "PASS" : "FAIL", kInvokes, worst, kToleranceSteps, static_cast<int>(interpreter.arena_used_bytes()),
              static_cast<int>(arena_size));
  if (tflite::ticks_per_second() > 0) {
    MicroPrintf("TIME: %d steps took %d ticks at %d ticks per second", kInvokes, static_cast<int>(ticks),
                static_cast<int>(tflite::ticks_per_second()));
  }
  return pass ? 0 : 1;
}
