$banner
#ifndef ${guard}
#define ${guard}

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

namespace ${ns} {

// Exactly the $n_ops builtin ops this model uses (in any subgraph), read from its flatbuffer.
using OpResolver = tflite::MicroMutableOpResolver<$n_ops>;

inline TfLiteStatus RegisterOps(OpResolver& resolver) {
$registrations
  return kTfLiteOk;
}

}  // namespace ${ns}

#endif  // ${guard}
