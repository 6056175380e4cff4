/*
 * syscall.c - system calls: fetching the arguments from the user stack, the
 * table of calls, and the calls themselves.
 *
 * A user program calls a stub (user/usys.asm) that puts the call number in
 * EAX and executes INT 0x40. The C arguments are where the C call left them:
 * on the user stack, above the stub's return address. The result goes back
 * in the trap frame's EAX.
 */
#include "defs.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "syscall.h"
#include "x86.h"

/* {====== arguments ====== */

/* The int at user address addr, or -1 if it is outside the process. */
static int fetchint(uint32_t addr, int *ip)
{
	struct proc *p = myproc();

	if (addr >= p->sz || addr + 4 > p->sz || addr + 4 < addr)
		return -1;
	*ip = *(int *)addr;
	return 0;
}

/* The n-th (from 0) int argument. Returns 0, or -1 if it cannot be read. */
static int argint(int n, int *ip)
{
	return fetchint(myproc()->tf->esp + 4 + 4 * n, ip);
}

/* The n-th argument as a pointer to size bytes inside the process. */
static int argptr(int n, char **pp, int size)
{
	struct proc *p = myproc();
	int v;

	if (argint(n, &v) < 0 || size < 0 || (uint32_t)v >= p->sz ||
	    (uint32_t)v + size > p->sz || (uint32_t)v + size < (uint32_t)v)
		return -1;
	*pp = (char *)v;
	return 0;
}

/* The NUL-terminated string at user address addr; returns its length or -1. */
static int fetchstr(uint32_t addr, char **pp)
{
	struct proc *p = myproc();

	if (addr >= p->sz)
		return -1;
	*pp = (char *)addr;
	for (char *s = *pp; s < (char *)p->sz; s++)
		if (*s == 0)
			return s - *pp;
	return -1;
}

static int argstr(int n, char **pp)
{
	int addr;

	if (argint(n, &addr) < 0)
		return -1;
	return fetchstr(addr, pp);
}

/* The n-th argument as a file descriptor of the process. */
static int argfd(int n, int *pfd, struct file **pf)
{
	int fd;

	if (argint(n, &fd) < 0 || fd < 0 || fd >= NOFILE || myproc()->ofile[fd] == 0)
		return -1;
	if (pfd)
		*pfd = fd;
	if (pf)
		*pf = myproc()->ofile[fd];
	return 0;
}

/* }====== */

/* {====== processes ====== */

static int sys_fork(void)
{
	return fork();
}

static int sys_exit(void)
{
	int status;

	if (argint(0, &status) < 0)
		status = -1;
	exit(status);
}

static int sys_wait(void)
{
	char *ustatus = 0;
	int uaddr, status, pid;

	if (argint(0, &uaddr) < 0)
		return -1;
	if (uaddr != 0 && argptr(0, &ustatus, sizeof(int)) < 0)
		return -1;
	pid = wait(&status);
	if (pid >= 0 && ustatus)
		*(int *)ustatus = status;
	return pid;
}

static int sys_getpid(void)
{
	return myproc()->pid;
}

static int sys_sleep(void)
{
	int n;

	if (argint(0, &n) < 0)
		return -1;
	uint32_t start = ticks;
	while (ticks - start < (uint32_t)n) {
		if (myproc()->killed)
			return -1;
		sleep(&ticks);
	}
	return 0;
}

static int sys_yield(void)
{
	yield();
	return 0;
}

static int sys_uptime(void)
{
	return ticks;
}

static int sys_ps(void)
{
	procdump();
	return 0;
}

/* Stop the machine: on QEMU and nestlab, isa-debug-exit ends the run. */
static int sys_halt(void)
{
	kprintf("minios: halted\n");
	machine_stop(0);
}

static int sys_exec(void)
{
	char *path, *argv[MAXARG + 1];
	int uargv, uarg;

	if (argstr(0, &path) < 0 || argint(1, &uargv) < 0)
		return -1;
	for (int i = 0;; i++) {
		if (i > MAXARG || fetchint(uargv + 4 * i, &uarg) < 0)
			return -1;
		if (uarg == 0) {
			argv[i] = 0;
			break;
		}
		if (fetchstr(uarg, &argv[i]) < 0)
			return -1;
	}
	return exec(path, argv);
}

/* }====== */

/* {====== files ====== */

static int fdalloc(struct file *f)
{
	struct proc *p = myproc();

	for (int fd = 0; fd < NOFILE; fd++) {
		if (p->ofile[fd] == 0) {
			p->ofile[fd] = f;
			return fd;
		}
	}
	return -1;
}

static int sys_read(void)
{
	struct file *f;
	int n;
	char *buf;

	if (argfd(0, 0, &f) < 0 || argint(2, &n) < 0 || argptr(1, &buf, n) < 0)
		return -1;
	return file_read(f, buf, n);
}

static int sys_write(void)
{
	struct file *f;
	int n;
	char *buf;

	if (argfd(0, 0, &f) < 0 || argint(2, &n) < 0 || argptr(1, &buf, n) < 0)
		return -1;
	return file_write(f, buf, n);
}

static int sys_open(void)
{
	char *name;
	struct file *f;
	int fd;

	if (argstr(0, &name) < 0 || (f = file_open(name)) == 0)
		return -1;
	if ((fd = fdalloc(f)) < 0)
		file_close(f);
	return fd;
}

static int sys_close(void)
{
	int fd;
	struct file *f;

	if (argfd(0, &fd, &f) < 0)
		return -1;
	myproc()->ofile[fd] = 0;
	file_close(f);
	return 0;
}

/* }====== */

static int (*const syscalls[])(void) = {
	[SYS_fork] = sys_fork,		[SYS_exit] = sys_exit,
	[SYS_wait] = sys_wait,		[SYS_getpid] = sys_getpid,
	[SYS_read] = sys_read,		[SYS_write] = sys_write,
	[SYS_open] = sys_open,		[SYS_close] = sys_close,
	[SYS_exec] = sys_exec,		[SYS_sleep] = sys_sleep,
	[SYS_yield] = sys_yield,	[SYS_halt] = sys_halt,
	[SYS_ps] = sys_ps,		[SYS_uptime] = sys_uptime,
};

/* Run the system call in the current process's EAX; result in its EAX. */
void syscall(void)
{
	struct proc *p = myproc();
	uint32_t num = p->tf->eax;

	if (num < NELEM(syscalls) && syscalls[num]) {
		p->tf->eax = syscalls[num]();
	} else {
		kprintf("pid %d %s: unknown system call %d\n", p->pid, p->name, num);
		p->tf->eax = -1;
	}
}
