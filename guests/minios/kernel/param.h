/* param.h - the kernel's fixed sizes. */
#ifndef MINIOS_PARAM_H
#define MINIOS_PARAM_H

#define NPROC		32	/* processes */
#define NOFILE		8	/* open files per process */
#define NFILE		64	/* open files in the system */
#define KSTACKSIZE	4096	/* kernel stack of each process */
#define MAXARG		16	/* exec arguments */
#define MAXARGLEN	64	/* length of one exec argument, with its NUL */
#define TIMER_COUNT	10000000	/* LAPIC timer period in bus clocks */

#endif
