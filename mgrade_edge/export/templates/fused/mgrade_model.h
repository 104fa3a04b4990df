$banner
#ifndef ${guard}
#define ${guard}

#include <cstddef>
#include <cstdint>

// The state is inside the custom op (a persistent arena buffer), never a model input or output.
#define ${macro}_EXTERNAL_STATE 0

namespace ${ns} {

// Tensor arena: the op's state ($state_bytes bytes) + x and y + TensorFlow Lite Micro's own records
// for a one-op graph, which $allowance_note.
// `mgrade-edge board-test DIR --cpu ...` probes the smallest arena on a CPU.
inline constexpr size_t kTensorArenaMinimum = $arena_min;
inline constexpr size_t kTensorArenaMargin = $arena_margin;
inline constexpr size_t kTensorArenaSize = kTensorArenaMinimum + kTensorArenaMargin;
inline constexpr int kNumResourceVariables = 0;
// Recurrent state (delay lines + h of every layer): the op's persistent buffer in the arena.
inline constexpr size_t kStateBytes = $state_bytes;

// Model shape
inline constexpr int kKernelSize = $kernel_size;  // Gamma: delay window incl. the current sample
inline constexpr int kModelWidth = $d_model;  // d
inline constexpr int kNumLayers = $n_layers;
inline constexpr int kNumClasses = $n_classes;
inline constexpr int kInputLength = $x_length;
inline constexpr int kOutputLength = $y_length;

// x: input 0, $x_desc
inline constexpr int kXInputIndex = 0;
inline constexpr int kXElementBytes = $element_bytes;
inline constexpr float kXScale = $x_scale;
inline constexpr int32_t kXZeroPoint = 0;

// y: output 0, $y_desc
inline constexpr int kYOutputIndex = 0;
inline constexpr int kYElementBytes = $element_bytes;
inline constexpr float kYScale = $y_scale;
inline constexpr int32_t kYZeroPoint = 0;

}  // namespace ${ns}

#endif  // ${guard}
