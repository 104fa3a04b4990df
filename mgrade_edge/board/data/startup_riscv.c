/* Bare-metal additions for QEMU's riscv32 `virt` machine under picolibc, whose crt0 sets up the stack,
 * .data and .bss and calls main, and whose semihost oslib gives stdio and exit (its status becomes QEMU's):
 * - mgrade_systick_now(): the machine-mode instruction counter minstret (under QEMU's -icount shift=0,
 *   exactly the instructions retired), read where the Cortex-M programs read SysTick;
 * - argv from QEMU's semihosting command line, parsed as the Cortex-M start code does (argv[0] the program),
 *   handed to main through the linker's --wrap=main (picolibc's hosted crt0 passes none, then exits with
 *   main's value). */
#include <stdint.h>

uint32_t mgrade_systick_now(void) {
  uint32_t v;
  __asm__ volatile(".insn i 0x73, 2, %0, x0, -1278" : "=r"(v)); /* csrr v, minstret (CSR 0xB02; no Zicsr in -march:
                                                                    its name would pick another multilib) */
  return v;
}

/* The RISC-V semihosting call: a0 = operation, a1 = its argument block; the result in a0. QEMU recognises the
 * three uncompressed instructions around the ebreak; the function starts 16-byte aligned so they never
 * straddle a page. */
long mgrade_semihost(long op, void* arg);
__asm__(
    ".section .text.mgrade_semihost,\"ax\",@progbits\n"
    ".balign 16\n"
    ".globl mgrade_semihost\n"
    "mgrade_semihost:\n"
    ".option push\n.option norvc\n.option norelax\n"
    "slli zero, zero, 0x1f\n"
    "ebreak\n"
    "srai zero, zero, 7\n"
    ".option pop\n"
    "ret\n"
    ".text\n");

#define MAX_ARGS 8
static char cmdline[256];
static char* argv_buf[MAX_ARGS + 1];

static int read_args(void) {
  struct {
    char* buf;
    long len;
  } block = {cmdline, (long)sizeof(cmdline) - 1};
  if (mgrade_semihost(0x15, &block) != 0) return 0; /* SYS_GET_CMDLINE */
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

int __real_main(int argc, char** argv);
int __wrap_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  int n = read_args();
  return __real_main(n, argv_buf);
}
