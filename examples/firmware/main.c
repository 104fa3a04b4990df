/* A firmware's use of an exported c bundle: samples arrive from an ADC by DMA into a ring buffer of
 * two halves; the half/full-transfer interrupts hand one half to the main loop while the DMA fills the
 * other; the loop steps the model once per sample and decides every WINDOW samples (the digits model
 * reads a 64-step sequence and averages its logits over time).
 *
 * On the host the DMA and its interrupts are simulated (dma_fill below plays back recording.h, eight
 * held-out digits) so the example runs as a test: it prints one decision per window. On a board, delete
 * dma_fill and call the two handlers from the DMA's interrupt vectors. Build: CMakeLists.txt beside this
 * file (add_subdirectory of the bundle). */
#include <stdint.h>
#include <stdio.h>

#include "mgrade_digits.h"
#include "recording.h"

#define HALF 64                 /* samples per DMA half-transfer */
#define WINDOW 64               /* samples per decision */
#define WINDOWS RECORDING_WINDOWS  /* how many decisions the host simulation makes */

static volatile int16_t ring[2 * HALF];   /* written by the DMA */
static volatile int ready_half = -1;      /* set by the interrupts, cleared by the main loop */

void dma_half_transfer_handler(void) { ready_half = 0; }
void dma_transfer_complete_handler(void) { ready_half = 1; }

/* Host stand-in for the ADC + DMA: plays the recording back, one half-buffer at a time. */
static long next_sample = 0;
static void dma_fill(int half) {
  int i;
  for (i = 0; i < HALF; ++i, ++next_sample) {
    ring[half * HALF + i] = recording[next_sample % (RECORDING_WINDOWS * WINDOW)];
  }
  if (half == 0) dma_half_transfer_handler(); else dma_transfer_complete_handler();
}

int main(void) {
  static mgrade_digits_state state;       /* the model's whole memory between steps */
  float x[MGRADE_DIGITS_D_IN], y[MGRADE_DIGITS_N_CLASSES], mean[MGRADE_DIGITS_N_CLASSES] = {0};
  int window = 0, steps = 0, c, i;
  mgrade_digits_reset(&state);
  while (window < WINDOWS) {
    dma_fill(window % 2 == 0 ? 0 : 1);    /* on a board: wait for the interrupt instead (__WFI) */
    if (ready_half < 0) continue;
    {
      const int half = ready_half;
      ready_half = -1;
      for (i = 0; i < HALF; ++i) {
        x[0] = (float)ring[half * HALF + i] / 32767.0f;   /* the ADC's scale to the model's input */
        mgrade_digits_step(&state, x, y);
        for (c = 0; c < MGRADE_DIGITS_N_CLASSES; ++c) mean[c] += (y[c] - mean[c]) / (float)(steps + 1);
        if (++steps == WINDOW) {           /* act on the decision, then start the next window */
          int best = 0;
          for (c = 1; c < MGRADE_DIGITS_N_CLASSES; ++c) if (mean[c] > mean[best]) best = c;
          printf("window %d: class %d (recorded digit %d)\n", window, best, recording_labels[window]);
          mgrade_digits_reset(&state);
          for (c = 0; c < MGRADE_DIGITS_N_CLASSES; ++c) mean[c] = 0.0f;
          steps = 0;
          ++window;
        }
      }
    }
  }
  return 0;
}
