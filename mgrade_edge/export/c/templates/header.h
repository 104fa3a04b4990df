$banner
#ifndef ${GUARD}
#define ${GUARD}

/* mGRADE streaming step, $precision: $model_desc.
 * RAM: state $state_bytes bytes (this struct, one per stream) + scratch $scratch_bytes (static,
 * inside ${p}.c) ; flash: the const data of ${p}.c. No heap, no interpreter. */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ${P}_D_IN $d_in
#define ${P}_N_CLASSES $n_classes

typedef struct {
  $ring_type ring[$ring_len];  /* every layer's delay line, a ring of its trimmed rows [rows][d] */
  $h_type h[$h_len];  /* minGRU hidden states [layers][d], updated in place */
  uint16_t head[$n_layers];  /* per layer: ring slot of the oldest sample */
} ${p}_state;

/* Zero delay lines and hidden states (the model's causal zero padding, h_0 = 0). */
void ${p}_reset(${p}_state *s);
/* One timestep: x [${P}_D_IN] -> per-step logits y [${P}_N_CLASSES]. Not reentrant (static scratch). */
void ${p}_step(${p}_state *s, const float *x, float *y);
/* n timesteps in one call: x [n][${P}_D_IN] -> y [n][${P}_N_CLASSES] (not overlapping), the same outputs and
 * state as n calls of step (a DMA buffer of frames or samples). */
void ${p}_step_block(${p}_state *s, const float *x, int n, float *y);
$extra_decls
/* x and y may live in the step's scratch (saves their RAM): fill input_buffer() with x, call
 * step(s, input_buffer(), output_buffer()), read y from output_buffer() before the next step. */
$io_type *${p}_input_buffer(void);
$io_type *${p}_output_buffer(void);
unsigned long ${p}_state_bytes(void);
unsigned long ${p}_scratch_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* ${GUARD} */
