/* elf.h - the parts of the ELF format (System V ABI, i386 supplement) exec needs. */
#ifndef MINIOS_ELF_H
#define MINIOS_ELF_H

#include <stdint.h>

#define ELF_MAGIC	0x464C457F	/* "\x7FELF", little-endian */
#define ELF_PROG_LOAD	1

struct elfhdr {
	uint32_t magic;
	uint8_t elf[12];
	uint16_t type;
	uint16_t machine;
	uint32_t version;
	uint32_t entry;
	uint32_t phoff;
	uint32_t shoff;
	uint32_t flags;
	uint16_t ehsize;
	uint16_t phentsize;
	uint16_t phnum;
	uint16_t shentsize;
	uint16_t shnum;
	uint16_t shstrndx;
};

struct proghdr {
	uint32_t type;
	uint32_t off;
	uint32_t vaddr;
	uint32_t paddr;
	uint32_t filesz;
	uint32_t memsz;
	uint32_t flags;
	uint32_t align;
};

#endif
