$banner
// The kernel of the custom op "${op_name}". The model's delay lines and hidden states (${p}_state,
// $state_bytes bytes) are one persistent buffer of the arena, allocated once in Init and zeroed by
// Init and by MicroInterpreter::Reset(); Eval is one call of the C step on the input and output
// tensors' own memory, so the interpreter plans nothing else for it. The step's scratch
// ($scratch_bytes bytes) is the static buffer inside ${p}.c, outside the arena.
#include "mgrade_step_op.h"

#include <cstring>

#include "${p}.h"
#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/kernels/kernel_util.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tensorflow/lite/micro/micro_context.h"
#include "tensorflow/lite/micro/micro_log.h"

namespace ${ns} {
namespace {

// The model file names the step it was exported with (its custom options); a kernel built from
// another export's ${p}.c would run other weights, so Init refuses it.
constexpr char kStepId[] = "${step_id}";
constexpr TfLiteType kIoType = ${io_tflite_type};

void* Init(TfLiteContext* context, const char* buffer, size_t length) {
  if (buffer == nullptr || length != sizeof(kStepId) - 1 || std::memcmp(buffer, kStepId, length) != 0) {
    MicroPrintf("${op_name}: the model was exported with another step than this kernel's ${p}.c (%s); use the "
                "model_data.cc of the same bundle", kStepId);
    return nullptr;
  }
  void* state = context->AllocatePersistentBuffer(context, sizeof(${p}_state));
  if (state != nullptr) {
    ${p}_reset(static_cast<${p}_state*>(state));
  }
  return state;
}

// Checks the tensors once, when the interpreter allocates them; Eval then trusts them.
TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node) {
  TF_LITE_ENSURE(context, node->user_data != nullptr);
  TF_LITE_ENSURE_EQ(context, tflite::NumInputs(node), 1);
  TF_LITE_ENSURE_EQ(context, tflite::NumOutputs(node), 1);
  tflite::MicroContext* micro = tflite::GetMicroContext(context);
  TfLiteTensor* x = micro->AllocateTempInputTensor(node, 0);
  TfLiteTensor* y = micro->AllocateTempOutputTensor(node, 0);
  TF_LITE_ENSURE(context, x != nullptr && y != nullptr);
  const bool ok = x->type == kIoType && y->type == kIoType &&
                  x->bytes == sizeof(${act_ctype}) * ${P}_D_IN && y->bytes == sizeof(${act_ctype}) * ${P}_N_CLASSES;
  micro->DeallocateTempTfLiteTensor(x);
  micro->DeallocateTempTfLiteTensor(y);
  if (!ok) {
    MicroPrintf("${op_name}: x or y is not ${act_ctype} [1, %d] / [1, %d] as ${p}.h declares", ${P}_D_IN,
                ${P}_N_CLASSES);
    return kTfLiteError;
  }
  return kTfLiteOk;
}

TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node) {
  const TfLiteEvalTensor* x = tflite::micro::GetEvalInput(context, node, 0);
  TfLiteEvalTensor* y = tflite::micro::GetEvalOutput(context, node, 0);
  ${p}_step_q(static_cast<${p}_state*>(node->user_data), tflite::micro::GetTensorData<${act_ctype}>(x),
              tflite::micro::GetTensorData<${act_ctype}>(y));
  return kTfLiteOk;
}

void Reset(TfLiteContext*, void* buffer) {
  if (buffer != nullptr) {
    ${p}_reset(static_cast<${p}_state*>(buffer));
  }
}

}  // namespace

// A pointer to one static registration, as TFLite Micro's own custom ops return it (AddCustom copies it).
TFLMRegistration* Register_${op_name}() {
  static TFLMRegistration registration = tflite::micro::RegisterOp(Init, Prepare, Eval, nullptr, Reset);
  return &registration;
}

}  // namespace ${ns}
