$banner
#include "mgrade_stream.h"

#include <cmath>
#include <cstring>
#include <new>

#include "mgrade_model.h"
#include "mgrade_qio.h"
#include "model_data.h"
#include "op_resolver.h"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_resource_variable.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace ${ns} {
namespace {

OpResolver g_resolver;
bool g_ops_registered = false;
// Constructed in place so init() can run again (e.g. on another arena) without a heap.
alignas(tflite::MicroInterpreter) unsigned char g_interpreter_storage[sizeof(tflite::MicroInterpreter)];
tflite::MicroInterpreter* g_interpreter = nullptr;

TfLiteType element_type(int element_bytes) {
  return element_bytes == 1 ? kTfLiteInt8 : kTfLiteInt16;
}

int element_bytes_of(TfLiteType type) {
  return type == kTfLiteInt8 ? 1 : 2;
}

// Same arithmetic as TFLite's reference QUANTIZE kernel and the toolchain's runners (mgrade_qio.h).
int32_t quantize(float value, float scale, int32_t zero_point, TfLiteType type) {
  return mgrade_qio::quantize(value, scale, zero_point, element_bytes_of(type));
}

int32_t read_raw(const TfLiteTensor* tensor, int i) {
  return tensor->type == kTfLiteInt8 ? tensor->data.int8[i] : tensor->data.i16[i];
}

void write_raw(void* data, TfLiteType type, int i, int32_t q) {
  if (type == kTfLiteInt8) {
    static_cast<int8_t*>(data)[i] = static_cast<int8_t>(q);
  } else {
    static_cast<int16_t*>(data)[i] = static_cast<int16_t>(q);
  }
}

// The constants in mgrade_model.h were read from the same flatbuffer; a mismatch means the files
// of two different exports were mixed.
bool check_tensor(const TfLiteTensor* tensor, const char* what, int index, int length, int element_bytes,
                  float scale, int32_t zero_point) {
  if (tensor == nullptr || tensor->type != element_type(element_bytes) ||
      tensor->bytes != static_cast<size_t>(length * element_bytes) || tensor->params.scale != scale ||
      tensor->params.zero_point != zero_point) {
    MicroPrintf("mgrade: %s %d does not match mgrade_model.h; regenerate the bundle", what, index);
    return false;
  }
  return true;
}

#if ${macro}_EXTERNAL_STATE
alignas(4) uint8_t g_state_staging[kStateStagingBytes];

bool check_state_tensors() {
  for (int p = 0; p < kNumStatePairs; ++p) {
    if (!check_tensor(g_interpreter->input(kStateInputIndex[p]), "state input", kStateInputIndex[p],
                      kStateLength[p], kStateInElementBytes[p], kStateInScale[p], kStateInZeroPoint[p]) ||
        !check_tensor(g_interpreter->output(kStateOutputIndex[p]), "state output", kStateOutputIndex[p],
                      kStateLength[p], kStateOutElementBytes[p], kStateOutScale[p], kStateOutZeroPoint[p])) {
      return false;
    }
  }
  return true;
}

// Copies every state output to its state input, requantising where the scales differ. All outputs
// are staged first: the memory planner may place an output in arena bytes an input also used.
void feed_back_state() {
  size_t offset = 0;
  for (int p = 0; p < kNumStatePairs; ++p) {
    const TfLiteTensor* out = g_interpreter->output(kStateOutputIndex[p]);
    const TfLiteType in_type = element_type(kStateInElementBytes[p]);
    uint8_t* staged = &g_state_staging[offset];
    if (kStateRawCopy[p]) {
      std::memcpy(staged, out->data.raw, out->bytes);
    } else {
      for (int i = 0; i < kStateLength[p]; ++i) {
        write_raw(staged, in_type, i,
                  mgrade_qio::requantize(read_raw(out, i), kStateOutScale[p], kStateOutZeroPoint[p], kStateInScale[p],
                                         kStateInZeroPoint[p], kStateInElementBytes[p]));
      }
    }
    offset += static_cast<size_t>(kStateLength[p] * kStateInElementBytes[p]);
  }
  offset = 0;
  for (int p = 0; p < kNumStatePairs; ++p) {
    TfLiteTensor* in = g_interpreter->input(kStateInputIndex[p]);
    std::memcpy(in->data.raw, &g_state_staging[offset], in->bytes);
    offset += in->bytes;
  }
}
#endif

}  // namespace

bool init(uint8_t* arena, size_t arena_size) {
  if (g_interpreter != nullptr) {
    g_interpreter->~MicroInterpreter();
    g_interpreter = nullptr;
  }
  const tflite::Model* model = tflite::GetModel(${model_array});
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    MicroPrintf("mgrade: model schema version %d, this TFLite Micro supports %d", static_cast<int>(model->version()),
                TFLITE_SCHEMA_VERSION);
    return false;
  }
  if (!g_ops_registered) {
    if (RegisterOps(g_resolver) != kTfLiteOk) {
      MicroPrintf("mgrade: registering the model's ops failed");
      return false;
    }
    g_ops_registered = true;
  }
  tflite::MicroAllocator* allocator = tflite::MicroAllocator::Create(arena, arena_size);
  if (allocator == nullptr) {
    MicroPrintf("mgrade: arena of %d bytes is too small (need %d)", static_cast<int>(arena_size),
                static_cast<int>(kTensorArenaSize));
    return false;
  }
  // An internal-state model keeps its delay lines and h in resource variables, which TFLite
  // Micro only supports when the application creates them (in the same arena).
  tflite::MicroResourceVariables* variables = nullptr;
  if (kNumResourceVariables > 0) {
    variables = tflite::MicroResourceVariables::Create(allocator, kNumResourceVariables);
    if (variables == nullptr) {
      MicroPrintf("mgrade: could not create %d resource variables", kNumResourceVariables);
      return false;
    }
  }
  g_interpreter = new (g_interpreter_storage) tflite::MicroInterpreter(model, g_resolver, allocator, variables);
  if (g_interpreter->AllocateTensors() != kTfLiteOk) {
    MicroPrintf("mgrade: AllocateTensors failed with a %d-byte arena (need %d)", static_cast<int>(arena_size),
                static_cast<int>(kTensorArenaSize));
    g_interpreter->~MicroInterpreter();
    g_interpreter = nullptr;
    return false;
  }
  bool ok = check_tensor(g_interpreter->input(kXInputIndex), "input", kXInputIndex, kInputLength, kXElementBytes,
                         kXScale, kXZeroPoint) &&
            check_tensor(g_interpreter->output(kYOutputIndex), "output", kYOutputIndex, kOutputLength,
                         kYElementBytes, kYScale, kYZeroPoint);
#if ${macro}_EXTERNAL_STATE
  ok = ok && check_state_tensors();
#endif
  if (!ok) {
    g_interpreter->~MicroInterpreter();
    g_interpreter = nullptr;
    return false;
  }
  return reset();
}

bool reset() {
  if (g_interpreter == nullptr) {
    return false;
  }
  // Also sets resource variables (internal state) back to their zero point, i.e. to 0.0.
  if (g_interpreter->Reset() != kTfLiteOk) {
    return false;
  }
#if ${macro}_EXTERNAL_STATE
  for (int p = 0; p < kNumStatePairs; ++p) {
    TfLiteTensor* in = g_interpreter->input(kStateInputIndex[p]);
    for (int i = 0; i < kStateLength[p]; ++i) {
      write_raw(in->data.raw, in->type, i, kStateInZeroPoint[p]);
    }
  }
#endif
  return true;
}

bool step(const float* input, float* logits) {
  if (g_interpreter == nullptr) {
    MicroPrintf("mgrade: step() called before a successful init()");
    return false;
  }
  TfLiteTensor* x = g_interpreter->input(kXInputIndex);
  for (int i = 0; i < kInputLength; ++i) {
    write_raw(x->data.raw, x->type, i, quantize(input[i], kXScale, kXZeroPoint, x->type));
  }
  if (g_interpreter->Invoke() != kTfLiteOk) {
    MicroPrintf("mgrade: Invoke failed");
    return false;
  }
  const TfLiteTensor* y = g_interpreter->output(kYOutputIndex);
  for (int i = 0; i < kOutputLength; ++i) {
    logits[i] = mgrade_qio::dequantize(read_raw(y, i), kYScale, kYZeroPoint);
  }
#if ${macro}_EXTERNAL_STATE
  feed_back_state();
#endif
  return true;
}

size_t arena_used_bytes() {
  return g_interpreter == nullptr ? 0 : g_interpreter->arena_used_bytes();
}

}  // namespace ${ns}
