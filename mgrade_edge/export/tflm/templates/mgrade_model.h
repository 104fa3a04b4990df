$banner
#ifndef ${guard}
#define ${guard}

#include <cstddef>
#include <cstdint>

// 1: state tensors are model inputs/outputs fed back by mgrade_stream.cc; 0: the state stays inside
// the model (resource variables, or the tflm-fused op's persistent buffer).
#define ${macro}_EXTERNAL_STATE $external

namespace ${ns} {

$arena_comment
// arena_used_bytes() after init() is NOT a safe size: allocation needs temporary memory above it.
// `mgrade-edge board-test DIR --cpu ...` measures the smallest arena on a CPU.
inline constexpr size_t kTensorArenaMinimum = $arena_min;
inline constexpr size_t kTensorArenaMargin = $arena_margin;
inline constexpr size_t kTensorArenaSize = kTensorArenaMinimum + kTensorArenaMargin;
inline constexpr int kNumResourceVariables = $variables;
// Recurrent state (delay lines + h of every layer), inside the arena: $state_where.
inline constexpr size_t kStateBytes = $state_bytes;

// Model shape
inline constexpr int kKernelSize = $kernel_size;  // Gamma: delay window incl. the current sample
inline constexpr int kModelWidth = $d_model;  // d
inline constexpr int kNumLayers = $n_layers;
inline constexpr int kNumClasses = $n_classes;
inline constexpr int kInputLength = $x_length;
inline constexpr int kOutputLength = $y_length;

// x: input $x_position, $x_desc
inline constexpr int kXInputIndex = $x_position;
inline constexpr int kXElementBytes = $x_element_bytes;
inline constexpr float kXScale = $x_scale;
inline constexpr int32_t kXZeroPoint = $x_zero_point;

// y: output $y_position, $y_desc
inline constexpr int kYOutputIndex = $y_position;
inline constexpr int kYElementBytes = $y_element_bytes;
inline constexpr float kYScale = $y_scale;
inline constexpr int32_t kYZeroPoint = $y_zero_point;
$state_section
}  // namespace ${ns}

#endif  // ${guard}
