/*
 * defs.h - the functions one kernel file calls in another. Each is described
 * where it is defined.
 */
#ifndef MINIOS_DEFS_H
#define MINIOS_DEFS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "mmu.h"

struct context;
struct dirent;
struct file;
struct proc;
struct trapframe;

/* console.c */
void kprintf(const char *fmt, ...);
void kvprintf(void (*put)(int, void *), void *arg, const char *fmt, va_list ap);
void panic(const char *msg) __attribute__((noreturn));
void machine_stop(int status) __attribute__((noreturn));
void cons_intr(int c);
int cons_read(char *dst, int n);
int cons_write(const char *src, int n);

/* uart.c */
void uart_init(void);
void uart_enable_irq(void);
void uart_putc(int c);
void uart_intr(void);

/* vga.c */
void vga_init(void);
void vga_putc(int c);

/* kbd.c */
void kbd_init(void);
void kbd_intr(void);

/* kalloc.c */
void kinit(void *vstart, void *vend);
char *kalloc(void);
void kfree(char *page);

/* vm.c */
void seginit(void);
void kvmalloc(uint32_t phystop);
pde_t *setupkvm(void);
void switchkvm(void);
void switchuvm(struct proc *p);
uint32_t allocuvm(pde_t *pgdir, uint32_t oldsz, uint32_t newsz);
uint32_t deallocuvm(pde_t *pgdir, uint32_t oldsz, uint32_t newsz);
int loaduvm(pde_t *pgdir, uint32_t va, const struct dirent *f, uint32_t off, uint32_t sz);
void freevm(pde_t *pgdir);
void clearpteu(pde_t *pgdir, uint32_t va);
pde_t *copyuvm(pde_t *pgdir, uint32_t sz);
int copyout(pde_t *pgdir, uint32_t va, const void *src, uint32_t len);

/* mp.c */
extern uint32_t mp_lapic_addr;
extern uint32_t mp_ioapic_addr;
extern uint8_t mp_ioapic_id;
int mp_init(void);

/* lapic.c */
void lapic_init(void);
void lapic_eoi(void);
int lapic_id(void);

/* ioapic.c */
void ioapic_init(void);
void ioapic_enable(int irq, int apicid);

/* picirq.c */
void pic_disable(void);

/* trap.c */
extern uint32_t ticks;
void trap_init(void);
void trap(struct trapframe *tf);

/* trapasm.asm */
void trapret(void);

/* swtch.asm */
void swtch(struct context **old, struct context *new);

/* proc.c */
void userinit(void);
void scheduler(void) __attribute__((noreturn));
void sched(void);
void yield(void);
void sleep(void *chan);
void wakeup(void *chan);
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(int *status);
void procdump(void);

/* syscall.c */
void syscall(void);

/* ide.c */
int ide_init(void);
int ide_read(uint32_t sector, void *buf);

/* fs.c */
int fs_init(void);
int fs_lookup(const char *name, struct dirent *out);
void fs_rootdir(struct dirent *out);
int fs_read(const struct dirent *f, uint32_t off, void *dst, uint32_t n);

/* file.c */
struct file *file_open(const char *name);
struct file *file_console(void);
struct file *file_dup(struct file *f);
void file_close(struct file *f);
int file_read(struct file *f, char *dst, int n);
int file_write(struct file *f, const char *src, int n);

/* exec.c */
int exec(const char *path, char **argv);

/* string.c */
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
char *safestrcpy(char *dst, const char *src, size_t n);

/* ports of the PC that several files use */
#define DEBUG_EXIT_PORT	0xF4	/* isa-debug-exit: writing V ends the run */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
