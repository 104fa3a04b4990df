$banner
#ifndef ${GUARD}
#define ${GUARD}

/* The whole audio -> decision path of $model_desc:
 * int16 microphone samples at ${P}_SAMPLE_RATE Hz -> the front end ($frontend_desc) ->
 * ${p}_step$variant once per hop of ${P}_HOP_SAMPLES samples -> ${P}_N_CLASSES logits.
 * All RAM is in one ${p}_audio struct (front end window, noise estimate and FFT work memory,
 * the step's state, I/O) plus the step's static scratch; nothing is allocated. */
#include <stdint.h>

#include "${p}.h"
#include "mgrade_frontend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ${P}_SAMPLE_RATE $sample_rate
#define ${P}_HOP_SAMPLES $hop_samples
#define ${P}_WINDOW_SAMPLES $window_samples
#define ${P}_CHANNELS $channels
/* Bytes of front-end memory reserved in the struct: the most any supported CPU needs (64-bit
 * hosts need the most: the FFT's work memory holds pointers). ${p}_audio_init checks it. */
#define ${P}_FE_MEMORY_BYTES $fe_memory_bytes

typedef struct {
  mgrade_fe fe;
  ${p}_state step;
  int16_t features[${P}_CHANNELS];
  $io_type x[${P}_D_IN];
  $io_type y[${P}_N_CLASSES];  /* the last hop's logits */
  uint32_t hops;                /* hops completed since init */
  uint64_t fe_memory[(${P}_FE_MEMORY_BYTES + 7) / 8];
} ${p}_audio;

/* Called once per hop with that hop's logits (valid until the next hop) and its index. */
typedef void (*${p}_on_hop)(void *user, const $io_type *logits, uint32_t hop);

/* Silence in every buffer, the step reset. 0 on success, -1 if the front end needs more memory
 * than ${P}_FE_MEMORY_BYTES on this CPU. */
int ${p}_audio_init(${p}_audio *a);
/* Feeds samples until a hop completes or n run out: returns how many it consumed and sets *ready
 * to 1 when a->y holds a new hop's logits. */
int32_t ${p}_audio_feed(${p}_audio *a, const int16_t *samples, int32_t n, int *ready);
/* Any number of samples; on_hop (may be NULL) is called for every hop they complete. Returns the
 * number of hops completed. */
uint32_t ${p}_push_audio(${p}_audio *a, const int16_t *samples, int32_t n, ${p}_on_hop on_hop, void *user);
/* The network half of a hop: a->features -> a->x -> step -> a->y (feed calls it; exposed to time it). */
void ${p}_audio_step(${p}_audio *a);
/* The last hop's logits (a->y). */
const $io_type *${p}_audio_output(const ${p}_audio *a);
/* The struct's size, for callers that cannot see the type (bindings). */
unsigned long ${p}_audio_bytes(void);
/* The class with the highest logit of the last hop. */
int ${p}_audio_decision(const ${p}_audio *a);
/* What the front end needs on this CPU (<= ${P}_FE_MEMORY_BYTES), and of it what persists between hops. */
unsigned long ${p}_fe_memory_bytes(void);
unsigned long ${p}_fe_state_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* ${GUARD} */
