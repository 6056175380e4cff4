/*
 * syscall.h - system call numbers, shared by the kernel and user programs.
 * A program puts the number in EAX and executes INT 0x40; the arguments are
 * on its stack as for a C call; the result comes back in EAX (-1 = error).
 */
#ifndef MINIOS_SYSCALL_H
#define MINIOS_SYSCALL_H

#define SYS_fork	1	/* int fork(void) */
#define SYS_exit	2	/* void exit(int status) */
#define SYS_wait	3	/* int wait(int *status) */
#define SYS_getpid	4	/* int getpid(void) */
#define SYS_read	5	/* int read(int fd, void *buf, int n) */
#define SYS_write	6	/* int write(int fd, const void *buf, int n) */
#define SYS_open	7	/* int open(const char *name) */
#define SYS_close	8	/* int close(int fd) */
#define SYS_exec	9	/* int exec(const char *name, char **argv) */
#define SYS_sleep	10	/* int sleep(int ticks) */
#define SYS_yield	11	/* int yield(void) */
#define SYS_halt	12	/* void halt(void): power off */
#define SYS_ps		13	/* int ps(void): print the process table */
#define SYS_uptime	14	/* int uptime(void): timer ticks since boot */

#endif
