/* proc.h - processes and the CPU. */
#ifndef MINIOS_PROC_H
#define MINIOS_PROC_H

#include <stdint.h>
#include "mmu.h"
#include "param.h"

/*
 * The registers swtch() saves when a kernel thread gives up the CPU. The
 * caller-saved ones (EAX, ECX, EDX) are saved by the C caller already; EIP
 * is the return address that swtch's CALL pushed just above them.
 */
struct context {
	uint32_t edi, esi, ebx, ebp;
	uint32_t eip;
};

enum procstate { UNUSED, EMBRYO, SLEEPING, RUNNABLE, RUNNING, ZOMBIE };

struct proc {
	uint32_t sz;			/* bytes of user memory */
	pde_t *pgdir;			/* its page directory */
	char *kstack;			/* bottom of its kernel stack */
	enum procstate state;
	int pid;
	struct proc *parent;
	struct trapframe *tf;		/* the user registers, on the kernel stack */
	struct context *context;	/* swtch() here to run it */
	void *chan;			/* what it sleeps on, if SLEEPING */
	int killed;
	int xstatus;			/* exit status, for wait() */
	struct file *ofile[NOFILE];
	char name[16];
};

/* The one CPU minios uses. */
struct cpu {
	uint8_t apicid;			/* its local APIC ID */
	struct context *scheduler;	/* swtch() here to enter the scheduler */
	struct taskstate ts;		/* tells the CPU the ring-0 stack */
	struct segdesc gdt[NSEGS];
	struct proc *proc;		/* the running process, or 0 */
};

extern struct cpu cpu;

/* The running process (0 in the scheduler). */
static inline struct proc *myproc(void)
{
	return cpu.proc;
}

#endif
