$banner
#ifndef ${guard}
#define ${guard}

#include "tensorflow/lite/micro/micro_common.h"

namespace ${ns} {

// The custom op "${op_name}": one whole mGRADE step (every layer, the state inside), the generated
// C step ${p}.c behind TensorFlow Lite Micro's kernel interface. Register it with
//   resolver.AddCustom("${op_name}", ${ns}::Register_${op_name}());
TFLMRegistration* Register_${op_name}();

}  // namespace ${ns}

#endif  // ${guard}
