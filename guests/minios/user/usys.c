/*
 * usys.c - the system call stubs. Each puts its number (kernel/syscall.h)
 * in EAX and traps with INT 0x40; the kernel reads the C arguments from the
 * stack, above the stub's return address, and returns the result in EAX.
 */
#include "syscall.h"

#define T_SYSCALL 0x40
#define STR(x) #x
#define XSTR(x) STR(x)

#define SYSCALL(name)						\
	asm(".text\n"						\
	    ".globl " #name "\n"				\
	    #name ":\n"						\
	    "	movl $" XSTR(SYS_##name) ", %eax\n"		\
	    "	int $" XSTR(T_SYSCALL) "\n"			\
	    "	ret\n");

SYSCALL(fork)
SYSCALL(exit)
SYSCALL(wait)
SYSCALL(getpid)
SYSCALL(read)
SYSCALL(write)
SYSCALL(open)
SYSCALL(close)
SYSCALL(exec)
SYSCALL(sleep)
SYSCALL(yield)
SYSCALL(halt)
SYSCALL(ps)
SYSCALL(uptime)
