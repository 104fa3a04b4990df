$banner
#ifndef ${guard}
#define ${guard}

#include <cstdint>

namespace ${ns} {

inline constexpr int kGoldenSteps = $steps;
// The op runs the integer step bit for bit on every CPU: no logit may differ.
inline constexpr int kGoldenToleranceSteps = 0;

// Real input ($source), [kGoldenSteps * kInputLength] floats.
$input_array
// Raw $y_dtype y of each step from mgrade-edge's integer reference of ${p}.c (export/c/quant.py),
// [kGoldenSteps * kOutputLength].
$output_array
}  // namespace ${ns}

#endif  // ${guard}
