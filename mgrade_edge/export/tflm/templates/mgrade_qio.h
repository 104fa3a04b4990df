$banner
// Quantised I/O: the formulas of mgrade_edge/qio.py, in the same float32 arithmetic, so the
// toolchain's runners compute what this code computes (checked bit for bit by tests/test_qio.py).
#ifndef ${guard}
#define ${guard}

#include <cmath>
#include <cstdint>

namespace mgrade_qio {

inline int32_t clamp_to(int32_t q, int element_bytes) {
  const int32_t lo = element_bytes == 1 ? -128 : -32768;
  const int32_t hi = element_bytes == 1 ? 127 : 32767;
  return q < lo ? lo : (q > hi ? hi : q);
}

// TFLite's reference QUANTIZE kernel: round(value / scale) half away from zero, plus the zero point.
// The quotient is bounded first so lround cannot overflow; any bounded value saturates the same way.
inline int32_t quantize(float value, float scale, int32_t zero_point, int element_bytes) {
  float scaled = value / scale;
  scaled = scaled > 65536.0f ? 65536.0f : (scaled < -65536.0f ? -65536.0f : scaled);
  return clamp_to(static_cast<int32_t>(std::lround(scaled)) + zero_point, element_bytes);
}

inline float dequantize(int32_t q, float scale, int32_t zero_point) {
  return static_cast<float>(q - zero_point) * scale;
}

// A state output re-expressed on its input's grid: dequantise, then quantise (the one formula).
inline int32_t requantize(int32_t q, float src_scale, int32_t src_zero_point, float dst_scale,
                          int32_t dst_zero_point, int dst_element_bytes) {
  return quantize(dequantize(q, src_scale, src_zero_point), dst_scale, dst_zero_point, dst_element_bytes);
}

}  // namespace mgrade_qio

#endif  // ${guard}
