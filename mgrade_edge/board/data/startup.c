/* Bare-metal start for the QEMU Cortex-M machines mgrade-edge's board tests use (mps2-an386,
 * mps3-an547): vector table, reset handler (FPU on, .data copied, .bss zeroed, SysTick started,
 * semihosting stdio, C++ constructors, argv from the semihosting command line, main, exit), and
 * fault handlers that report over semihosting and stop QEMU with a non-zero status. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern int main(int argc, char** argv);
extern void __libc_init_array(void);
extern void initialise_monitor_handles(void);

#define REG(addr) (*(volatile uint32_t*)(addr))
#define SCB_CPACR REG(0xE000ED88u)
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)

volatile uint32_t mgrade_systick_wraps;

static int semihost(int op, void* arg) {
  register int r0 __asm__("r0") = op;
  register void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static void fault(const char* what) {
  semihost(0x04, (void*)what); /* SYS_WRITE0 */
  /* SYS_EXIT with ADP_Stopped_RunTimeErrorUnknown: QEMU stops with exit status 1 */
  semihost(0x18, (void*)(uintptr_t)0x20023u);
  for (;;) {
  }
}

void NMI_Handler(void) { fault("mgrade-board: NMI\n"); }
void HardFault_Handler(void) { fault("mgrade-board: HardFault\n"); }
void MemManage_Handler(void) { fault("mgrade-board: MemManage fault\n"); }
void BusFault_Handler(void) { fault("mgrade-board: BusFault\n"); }
void UsageFault_Handler(void) { fault("mgrade-board: UsageFault\n"); }
void Default_Handler(void) { fault("mgrade-board: unexpected exception\n"); }
void SysTick_Handler(void) { mgrade_systick_wraps++; }
void Reset_Handler(void);
/* crti.o is left out with our own start code; newlib's __libc_init_array still calls these. */
/* C++ static objects register their destructors with __cxa_atexit(fn, obj, &__dso_handle); the
   handle normally comes from crtbegin.o, which -nostartfiles leaves out. One program, one handle. */
void *__dso_handle = &__dso_handle;

void _init(void) {}
void _fini(void) {}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, Reset_Handler, NMI_Handler, HardFault_Handler, MemManage_Handler,
    BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler,
    SysTick_Handler};

/* SysTick ticks since reset: 24-bit down counter at the processor clock plus counted wraps. */
uint32_t mgrade_systick_now(void) {
  uint32_t wraps, value;
  do {
    wraps = mgrade_systick_wraps;
    value = SYST_CVR;
  } while (wraps != mgrade_systick_wraps);
  return wraps * 0x1000000u + (0xFFFFFFu - value);
}

#define MAX_ARGS 8
static char cmdline[256];
static char* argv_buf[MAX_ARGS + 1];

static int read_args(void) {
  struct {
    char* buf;
    int len;
  } block = {cmdline, (int)sizeof(cmdline) - 1};
  if (semihost(0x15, &block) != 0) { /* SYS_GET_CMDLINE */
    return 0;
  }
  cmdline[block.len] = 0;
  int argc = 0;
  for (char* p = cmdline; *p && argc < MAX_ARGS;) {
    while (*p == ' ') *p++ = 0;
    if (!*p) break;
    argv_buf[argc++] = p;
    while (*p && *p != ' ') p++;
  }
  argv_buf[argc] = 0;
  return argc;
}

void Reset_Handler(void) {
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  SCB_CPACR |= 0xFu << 20; /* CP10, CP11: full access, before any floating-point instruction */
  __asm__ volatile("dsb\n isb" ::: "memory");
#endif
  for (uint32_t *src = &__data_load, *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t* dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */
  initialise_monitor_handles();
  __libc_init_array();
  int argc = read_args();
  exit(main(argc, argv_buf));
}
