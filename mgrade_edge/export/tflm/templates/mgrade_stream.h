$banner
#ifndef ${guard}
#define ${guard}

#include <cstddef>
#include <cstdint>

// Streaming inference for one mGRADE model: call init() once, then step() once per timestep.
// The state (delay lines and recurrent state of every layer) is kept by this module, in the arena;
// the caller only sees one input frame and one set of logits per step.
namespace ${ns} {

// Sets up the TFLite Micro interpreter in `arena` (at least kTensorArenaSize bytes, 16-byte
// aligned), creates the resource variables of an internal-state model, allocates the tensors and
// resets the state. May be called again to restart on another arena. Returns false on failure
// (the reason is printed with MicroPrintf).
bool init(uint8_t* arena, size_t arena_size);

// Back to the initial state: zero delay lines and h = 0 in every layer.
bool reset();

// One timestep: input [kInputLength] floats -> logits [kOutputLength] floats (quantisation and
// dequantisation happen inside).
bool step(const float* input, float* logits);

// Bytes of the arena the interpreter actually uses (valid after init()).
size_t arena_used_bytes();

}  // namespace ${ns}

#endif  // ${guard}
