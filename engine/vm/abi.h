/*
 * abi.h - the introspection ABI's decoder (guests/lib/rt/nlabi.h,
 * docs/abi.md): a call's registers and descriptor in, a checked command out.
 *
 * Pure: memory comes through `read`, so the decoder can be tested and
 * fuzzed without a machine. What the tree must check against its own state
 * (a VM id in use, a map past the monitor's memory) is tree.c's.
 */
#ifndef NESTLAB_VM_ABI_H
#define NESTLAB_VM_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nlabi.h"

/* Reads `len` bytes at linear `lin` of the caller's level; false if a
 * byte is not mapped. */
typedef bool (*vm_abi_read_fn)(void *opaque, uint32_t lin, void *buf, size_t len);

struct vm_abi_call {
	uint32_t cmd;
	union {
		struct nl_hello hello;
		struct nl_vm_create create;
		struct nl_vm_destroy destroy;
		struct nl_log log;
		struct nl_mark mark;
	} u;
	char text[NL_LOG_MAX + 1]; /* LOG: the bytes, NUL-terminated, controls as '.' */
};

/*
 * Decodes the call EAX = `cmd`, EBX = `desc`. Returns NL_OK with `out`
 * filled (names NUL-terminated), or an NL_E_* code with *why a sentence
 * (static) saying what was wrong. Never reads more than the descriptor
 * and a LOG's bytes.
 */
uint32_t vm_abi_decode(uint32_t cmd, uint32_t desc, vm_abi_read_fn read, void *opaque,
                       struct vm_abi_call *out, const char **why);

/* The command's name ("HELLO"), or NULL for an unknown one. */
const char *vm_abi_command_name(uint32_t cmd);
/* The result's name ("NL_E_MAP"), or "?" */
const char *vm_abi_result_name(uint32_t res);

#endif
