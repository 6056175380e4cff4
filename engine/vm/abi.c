/*
 * abi.c - the introspection ABI's decoder (abi.h, docs/abi.md).
 *
 * Every field a guest gives is checked before the tree uses it: the
 * descriptor's version and size, names (printable, NUL-terminated in their
 * field), memory maps (1 to NL_MAP_MAX ranges, 4 KiB aligned, not empty,
 * none past 4 GiB, none overlapping another on either side), a LOG's
 * length. A guest can therefore send anything at all; the worst it gets is
 * an error code.
 */
#include <string.h>

#include "abi.h"

#define PAGE_MASK 0xfffu

static const struct {
	uint32_t cmd;
	const char *name;
	uint32_t size; /* the descriptor's, 0: none */
} commands[] = {
	{ NL_CMD_QUERY, "QUERY", 0 },
	{ NL_CMD_HELLO, "HELLO", sizeof(struct nl_hello) },
	{ NL_CMD_VM_CREATE, "VM_CREATE", sizeof(struct nl_vm_create) },
	{ NL_CMD_VM_DESTROY, "VM_DESTROY", sizeof(struct nl_vm_destroy) },
	{ NL_CMD_LOG, "LOG", sizeof(struct nl_log) },
	{ NL_CMD_MARK, "MARK", sizeof(struct nl_mark) },
};

static int command_index(uint32_t cmd)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].cmd == cmd)
			return (int)i;
	return -1;
}

const char *vm_abi_command_name(uint32_t cmd)
{
	int i = command_index(cmd);
	return i < 0 ? NULL : commands[i].name;
}

const char *vm_abi_result_name(uint32_t res)
{
	static const char *const names[] = {
		"NL_OK", "NL_E_COMMAND", "NL_E_FAULT", "NL_E_VERSION", "NL_E_NAME", "NL_E_MAP",
		"NL_E_MAP_SIZE", "NL_E_ID", "NL_E_HELLO", "NL_E_FULL", "NL_E_LENGTH",
	};
	return res < sizeof names / sizeof names[0] ? names[res] : "?";
}

/* A name: 1..NL_NAME_MAX-1 printable ASCII bytes, then NUL. */
static bool name_ok(const char name[NL_NAME_MAX])
{
	size_t n = 0;
	while (n < NL_NAME_MAX && name[n]) {
		unsigned char ch = (unsigned char)name[n++];
		if (ch < 0x20 || ch > 0x7e)
			return false;
	}
	return n > 0 && n < NL_NAME_MAX;
}

static bool overlap(uint32_t a, uint32_t an, uint32_t b, uint32_t bn)
{
	return (uint64_t)a < (uint64_t)b + bn && (uint64_t)b < (uint64_t)a + an;
}

static uint32_t check_map(const struct nl_vm_create *c, const char **why)
{
	if (c->n_ranges < 1 || c->n_ranges > NL_MAP_MAX) {
		*why = "a VM's memory map has 1 to 8 ranges";
		return NL_E_MAP_SIZE;
	}
	for (uint32_t i = 0; i < c->n_ranges; i++) {
		const struct nl_range *r = &c->ranges[i];
		if (!r->size || ((r->gpa | r->size | r->mpa) & PAGE_MASK)) {
			*why = "a memory map range is empty or not 4 KiB aligned";
			return NL_E_MAP;
		}
		if ((uint64_t)r->gpa + r->size > 1ull << 32 || (uint64_t)r->mpa + r->size > 1ull << 32) {
			*why = "a memory map range goes past 4 GiB";
			return NL_E_MAP_SIZE;
		}
		for (uint32_t k = 0; k < i; k++) {
			const struct nl_range *q = &c->ranges[k];
			if (overlap(r->gpa, r->size, q->gpa, q->size) ||
			    overlap(r->mpa, r->size, q->mpa, q->size)) {
				*why = "two memory map ranges overlap";
				return NL_E_MAP;
			}
		}
	}
	return NL_OK;
}

static uint32_t check(struct vm_abi_call *out, vm_abi_read_fn read, void *opaque,
                      const char **why)
{
	switch (out->cmd) {
	case NL_CMD_HELLO:
		if (!name_ok(out->u.hello.name))
			break;
		return NL_OK;
	case NL_CMD_VM_CREATE:
		if (!out->u.create.id) {
			*why = "VM id 0 is not a VM (it means none)";
			return NL_E_ID;
		}
		if (!name_ok(out->u.create.name))
			break;
		return check_map(&out->u.create, why);
	case NL_CMD_VM_DESTROY:
		if (!out->u.destroy.id) {
			*why = "VM id 0 is not a VM (it means none)";
			return NL_E_ID;
		}
		return NL_OK;
	case NL_CMD_LOG: {
		uint32_t len = out->u.log.len;
		if (len > NL_LOG_MAX) {
			*why = "a LOG is at most 256 bytes";
			return NL_E_LENGTH;
		}
		if (len && !read(opaque, out->u.log.text, out->text, len)) {
			*why = "a LOG's text is not mapped";
			return NL_E_FAULT;
		}
		for (uint32_t i = 0; i < len; i++)
			if ((unsigned char)out->text[i] < 0x20 || (unsigned char)out->text[i] > 0x7e)
				out->text[i] = '.';
		out->text[len] = 0;
		return NL_OK;
	}
	case NL_CMD_MARK:
		if (!name_ok(out->u.mark.name))
			break;
		return NL_OK;
	}
	*why = "a name must be 1 to 31 printable characters, NUL-terminated";
	return NL_E_NAME;
}

uint32_t vm_abi_decode(uint32_t cmd, uint32_t desc, vm_abi_read_fn read, void *opaque,
                       struct vm_abi_call *out, const char **why)
{
	memset(out, 0, sizeof *out);
	out->cmd = cmd;
	*why = NULL;
	int i = command_index(cmd);
	if (i < 0) {
		*why = "no such command";
		return NL_E_COMMAND;
	}
	if (!commands[i].size)
		return NL_OK;
	uint32_t head[2];
	if (!read(opaque, desc, head, sizeof head)) {
		*why = "the descriptor is not mapped";
		return NL_E_FAULT;
	}
	if (head[0] != NL_ABI_VERSION || head[1] != commands[i].size) {
		*why = "the descriptor's version or size is not this engine's (ABI version 1)";
		return NL_E_VERSION;
	}
	if ((uint64_t)desc + commands[i].size > 1ull << 32 ||
	    !read(opaque, desc, &out->u, commands[i].size)) {
		*why = "the descriptor is not mapped";
		return NL_E_FAULT;
	}
	return check(out, read, opaque, why);
}
