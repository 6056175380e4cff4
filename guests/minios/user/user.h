/* user.h - what minios user programs can call: system calls and ulib.c. */
#ifndef MINIOS_USER_H
#define MINIOS_USER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* system calls (usys.asm) */
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(int *status);
int getpid(void);
int read(int fd, void *buf, int n);
int write(int fd, const void *buf, int n);
int open(const char *name);
int close(int fd);
int exec(const char *name, char **argv);
int sleep(int ticks);
int yield(void);
void halt(void) __attribute__((noreturn));
int ps(void);
int uptime(void);

/* ulib.c */
int main(int argc, char **argv);
void _start(int argc, char **argv) __attribute__((noreturn));
void printf(const char *fmt, ...);
void fprintf(int fd, const char *fmt, ...);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
char *strcpy(char *dst, const char *src);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int atoi(const char *s);

#define STDIN	0
#define STDOUT	1
#define STDERR	2

#endif
