$banner
#ifndef ${guard}
#define ${guard}

#include "mgrade_step_op.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

namespace ${ns} {

// The model is one custom op; no builtin kernels are linked.
using OpResolver = tflite::MicroMutableOpResolver<1>;

inline TfLiteStatus RegisterOps(OpResolver& resolver) {
  return resolver.AddCustom("${op_name}", Register_${op_name}());
}

}  // namespace ${ns}

#endif  // ${guard}
