/*
 * proc.c - processes and the scheduler.
 *
 * Each process has a kernel stack. When a process gives up the CPU (sleep,
 * yield, exit) it calls swtch() to the scheduler's own context; the scheduler
 * picks the next RUNNABLE process in table order (round robin) and swtch()es
 * to it. A process's kernel stack, from the top:
 *
 *   struct trapframe   its user registers (from the trap that entered the kernel)
 *   trapret            return address: a new process "returns" into trapret ...
 *   struct context     ... after forkret; swtch() pops this
 */
#include "defs.h"
#include "memlayout.h"
#include "proc.h"
#include "x86.h"

struct cpu cpu;
static struct proc ptable[NPROC];
static struct proc *initproc;
static int nextpid = 1;

static void forkret(void);

/*
 * A free process slot set up to start in forkret, then trapret, with a kernel
 * stack and an empty trap frame; state EMBRYO. Returns 0 if none is free.
 */
static struct proc *allocproc(void)
{
	struct proc *p;

	for (p = ptable; p < &ptable[NPROC]; p++)
		if (p->state == UNUSED)
			break;
	if (p == &ptable[NPROC] || (p->kstack = kalloc()) == 0)
		return 0;
	p->state = EMBRYO;
	p->pid = nextpid++;
	p->killed = 0;
	p->xstatus = 0;

	char *sp = p->kstack + KSTACKSIZE;
	sp -= sizeof(*p->tf);
	p->tf = (struct trapframe *)sp;
	memset(p->tf, 0, sizeof(*p->tf));
	sp -= 4;
	*(uint32_t *)sp = (uint32_t)trapret;
	sp -= sizeof(*p->context);
	p->context = (struct context *)sp;
	memset(p->context, 0, sizeof(*p->context));
	p->context->eip = (uint32_t)forkret;
	return p;
}

/* Return a dead process's slot and memory to the free pools. */
static void freeproc(struct proc *p)
{
	kfree(p->kstack);
	p->kstack = 0;
	if (p->pgdir)
		freevm(p->pgdir);
	p->pgdir = 0;
	p->pid = 0;
	p->parent = 0;
	p->name[0] = 0;
	p->state = UNUSED;
}

/*
 * Create the first process. It starts with no user memory; its first run
 * (forkret) execs "init" from the file system. Its files 0, 1 and 2 are the
 * console, which every other process inherits.
 */
void userinit(void)
{
	struct proc *p = allocproc();

	if (p == 0 || (p->pgdir = setupkvm()) == 0)
		panic("userinit: out of memory");
	initproc = p;
	p->sz = 0;
	p->tf->cs = (SEG_UCODE << 3) | DPL_USER;
	p->tf->ds = p->tf->es = p->tf->ss = (SEG_UDATA << 3) | DPL_USER;
	p->tf->eflags = EFLAGS_IF;
	for (int fd = 0; fd < 3; fd++)
		p->ofile[fd] = fd == 0 ? file_console() : file_dup(p->ofile[0]);
	safestrcpy(p->name, "init", sizeof(p->name));
	p->state = RUNNABLE;
}

/* A new process's first kernel code: scheduler() switched here. */
static void forkret(void)
{
	static int first = 1;

	if (first) {
		static char *argv[] = {"init", 0};
		first = 0;
		if (exec("init", argv) < 0)
			panic("cannot exec init");
	}
	/* Return to trapret (allocproc put its address on the stack). */
}

/*
 * The scheduler: run each RUNNABLE process in turn until it gives the CPU
 * back; when there is none, wait for an interrupt. Never returns.
 */
void scheduler(void)
{
	for (;;) {
		int ran = 0;
		for (struct proc *p = ptable; p < &ptable[NPROC]; p++) {
			if (p->state != RUNNABLE)
				continue;
			cpu.proc = p;
			switchuvm(p);
			p->state = RUNNING;
			swtch(&cpu.scheduler, p->context);
			switchkvm();
			cpu.proc = 0;
			ran = 1;
		}
		if (!ran)
			idle_wait();
	}
}

/* Switch to the scheduler. The caller has changed its state from RUNNING. */
void sched(void)
{
	struct proc *p = myproc();

	if (p->state == RUNNING)
		panic("sched: still running");
	if (readeflags() & EFLAGS_IF)
		panic("sched: interruptible");
	swtch(&p->context, cpu.scheduler);
}

/* Give up the CPU for one round of the scheduler. */
void yield(void)
{
	myproc()->state = RUNNABLE;
	sched();
}

/*
 * Wait until wakeup(chan). Interrupts are off in the kernel, so no wakeup can
 * come between the caller's test of its condition and this sleep; callers
 * still test again in a loop, as the wakeup may be for another reason.
 */
void sleep(void *chan)
{
	struct proc *p = myproc();

	p->chan = chan;
	p->state = SLEEPING;
	sched();
	p->chan = 0;
}

/* Make every process sleeping on chan runnable. */
void wakeup(void *chan)
{
	for (struct proc *p = ptable; p < &ptable[NPROC]; p++)
		if (p->state == SLEEPING && p->chan == chan)
			p->state = RUNNABLE;
}

/*
 * A copy of the current process: memory, open files, name; the child returns
 * 0 from the system call. Returns the child's pid, or -1 when out of memory
 * or process slots.
 */
int fork(void)
{
	struct proc *cur = myproc();
	struct proc *np = allocproc();

	if (np == 0)
		return -1;
	if ((np->pgdir = copyuvm(cur->pgdir, cur->sz)) == 0) {
		freeproc(np);
		return -1;
	}
	np->sz = cur->sz;
	np->parent = cur;
	*np->tf = *cur->tf;
	np->tf->eax = 0;
	for (int fd = 0; fd < NOFILE; fd++)
		np->ofile[fd] = cur->ofile[fd] ? file_dup(cur->ofile[fd]) : 0;
	safestrcpy(np->name, cur->name, sizeof(np->name));
	np->state = RUNNABLE;
	return np->pid;
}

/*
 * End the current process with a status for wait(). Its children go to
 * init; it stays a ZOMBIE until its parent waits for it.
 */
void exit(int status)
{
	struct proc *cur = myproc();

	if (cur == initproc)
		panic("init exiting");
	for (int fd = 0; fd < NOFILE; fd++) {
		if (cur->ofile[fd]) {
			file_close(cur->ofile[fd]);
			cur->ofile[fd] = 0;
		}
	}
	for (struct proc *p = ptable; p < &ptable[NPROC]; p++) {
		if (p->parent == cur) {
			p->parent = initproc;
			if (p->state == ZOMBIE)
				wakeup(initproc);
		}
	}
	cur->xstatus = status;
	cur->state = ZOMBIE;
	wakeup(cur->parent);
	sched();
	panic("zombie exit");
}

/*
 * Wait for a child to exit, free it and return its pid; store its exit
 * status in *status unless status is 0 (a kernel pointer, already checked).
 * Returns -1 if the process has no children.
 */
int wait(int *status)
{
	struct proc *cur = myproc();

	for (;;) {
		int havekids = 0;
		for (struct proc *p = ptable; p < &ptable[NPROC]; p++) {
			if (p->parent != cur)
				continue;
			havekids = 1;
			if (p->state == ZOMBIE) {
				int pid = p->pid;
				if (status)
					*status = p->xstatus;
				freeproc(p);
				return pid;
			}
		}
		if (!havekids || cur->killed)
			return -1;
		sleep(cur);	/* exit() wakes the parent */
	}
}

/* Print the process table on the console (the ps command, and Ctrl-P). */
void procdump(void)
{
	static const char *const states[] = {
		[UNUSED] = "unused", [EMBRYO] = "embryo", [SLEEPING] = "sleep",
		[RUNNABLE] = "runble", [RUNNING] = "run", [ZOMBIE] = "zombie",
	};

	kprintf("PID  PPID STATE  NAME\n");
	for (struct proc *p = ptable; p < &ptable[NPROC]; p++) {
		if (p->state == UNUSED)
			continue;
		kprintf("%-4d %-4d %-6s %s\n", p->pid, p->parent ? p->parent->pid : 0,
			states[p->state], p->name);
	}
}
