/*
 * exec.c - replace the current process's program with an ELF file from the
 * file system.
 *
 * The new user address space: the ELF's loadable segments from address 0,
 * then a guard page (not user-accessible, so a stack overflow faults), then
 * one page of stack. The stack starts with the arguments, as main() wants:
 *
 *   argument strings
 *   argv[argc] = 0
 *   argv[0..argc-1]       pointers to the strings
 *   argv                  pointer to argv[0]
 *   argc
 *   0xFFFFFFFF            fake return address      <- ESP
 */
#include "defs.h"
#include "elf.h"
#include "fsformat.h"
#include "memlayout.h"
#include "param.h"
#include "proc.h"
#include "x86.h"

#define FAKE_RETURN	0xFFFFFFFF

/* Load the ELF segments of f into pgdir. Returns the memory size, or 0. */
static uint32_t load_segments(pde_t *pgdir, const struct dirent *f, uint32_t *entry)
{
	struct elfhdr elf;
	struct proghdr ph;
	uint32_t sz = 0;

	if (fs_read(f, 0, &elf, sizeof(elf)) != sizeof(elf) || elf.magic != ELF_MAGIC)
		return 0;
	for (uint32_t i = 0, off = elf.phoff; i < elf.phnum; i++, off += sizeof(ph)) {
		if (fs_read(f, off, &ph, sizeof(ph)) != sizeof(ph))
			return 0;
		if (ph.type != ELF_PROG_LOAD || ph.memsz == 0)
			continue;
		if (ph.memsz < ph.filesz || ph.vaddr + ph.memsz < ph.vaddr ||
		    ph.vaddr % PGSIZE != 0 || ph.vaddr < sz)
			return 0;
		if ((sz = allocuvm(pgdir, sz, ph.vaddr + ph.memsz)) == 0)
			return 0;
		if (loaduvm(pgdir, ph.vaddr, f, ph.off, ph.filesz) < 0)
			return 0;
	}
	*entry = elf.entry;
	return sz;
}

/* Push argv onto the new stack at *sp. Returns 0, or -1 if it does not fit. */
static int push_args(pde_t *pgdir, uint32_t *sp, uint32_t stack_bottom, char **argv)
{
	uint32_t ustack[3 + MAXARG + 1];
	int argc;

	for (argc = 0; argv[argc]; argc++) {
		if (argc >= MAXARG)
			return -1;
		uint32_t len = strlen(argv[argc]) + 1;
		*sp = (*sp - len) & ~3;
		if (*sp < stack_bottom || copyout(pgdir, *sp, argv[argc], len) < 0)
			return -1;
		ustack[3 + argc] = *sp;
	}
	ustack[3 + argc] = 0;
	ustack[0] = FAKE_RETURN;
	ustack[1] = argc;
	ustack[2] = *sp - (argc + 1) * 4;	/* argv: right above argc */
	*sp -= (3 + argc + 1) * 4;
	if (*sp < stack_bottom || copyout(pgdir, *sp, ustack, (3 + argc + 1) * 4) < 0)
		return -1;
	return 0;
}

/*
 * Run program path with arguments argv (a 0-terminated array of kernel-
 * readable strings). On success the process returns to the new program's
 * entry point and the call does not return to the old one (the return value
 * lands in the new EAX and is ignored); on failure returns -1 and the old
 * program continues.
 */
int exec(const char *path, char **argv)
{
	struct proc *p = myproc();
	struct dirent f;
	uint32_t entry, sz, sp;
	pde_t *pgdir;

	if (fs_lookup(path, &f) < 0 || (pgdir = setupkvm()) == 0)
		return -1;
	if ((sz = load_segments(pgdir, &f, &entry)) == 0)
		goto bad;
	sz = PGROUNDUP(sz);
	if ((sz = allocuvm(pgdir, sz, sz + 2 * PGSIZE)) == 0)
		goto bad;
	clearpteu(pgdir, sz - 2 * PGSIZE);
	sp = sz;
	if (push_args(pgdir, &sp, sz - PGSIZE, argv) < 0)
		goto bad;

	/* Commit: the old program is gone from here on. */
	const char *last = path;
	for (const char *s = path; *s; s++)
		if (*s == '/')
			last = s + 1;
	safestrcpy(p->name, last, sizeof(p->name));
	pde_t *oldpgdir = p->pgdir;
	p->pgdir = pgdir;
	p->sz = sz;
	p->tf->eip = entry;
	p->tf->esp = sp;
	switchuvm(p);
	freevm(oldpgdir);
	return 0;
bad:
	freevm(pgdir);
	return -1;
}
