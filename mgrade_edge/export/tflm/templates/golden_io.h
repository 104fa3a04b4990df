$banner
#ifndef ${guard}
#define ${guard}

#include <cstdint>

namespace ${ns} {

inline constexpr int kGoldenSteps = $steps;
// Allowed |device - golden| per logit, in quantisation steps of y (optimised kernels may round an
// intermediate differently from the reference kernels that produced the golden outputs).
inline constexpr int kGoldenToleranceSteps = $tolerance;

// Real input ($source), [kGoldenSteps * kInputLength] floats.
$input_array
// Raw $y_dtype y of each step from $recorder with a $arena-byte arena,
// [kGoldenSteps * kOutputLength].
$output_array
}  // namespace ${ns}

#endif  // ${guard}
