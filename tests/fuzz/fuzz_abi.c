/*
 * fuzz_abi.c - the introspection ABI's decoder (engine/vm/abi.c) against
 * any call a guest can make.
 *
 *   byte 0       the command: one of the six, or an unknown one
 *   byte 1       bit 0: put the right version at the descriptor
 *                bit 1: put the right size there
 *                bit 2: EBX is bytes 2-5 as they are (a wild pointer);
 *                       else an offset into the guest's memory (mod its
 *                       size, plus a little past its end)
 *   bytes 6..    the guest's memory: a window at linear MEM_BASE, nothing
 *                mapped anywhere else
 *
 * The decoder must return a code, with a sentence when it is not NL_OK, and
 * what it accepts must be what the ABI promises (names NUL-terminated, 1 to
 * NL_MAP_MAX ranges, a LOG at most NL_LOG_MAX bytes); AddressSanitizer and
 * UBSan watch that it never reads outside the window.
 */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_BASE 0x40000u

struct window {
	const uint8_t *p;
	size_t n;
};

static bool win_read(void *opaque, uint32_t lin, void *buf, size_t len)
{
	const struct window *w = opaque;
	if (lin < MEM_BASE || lin - MEM_BASE > w->n || len > w->n - (lin - MEM_BASE))
		return false;
	memcpy(buf, w->p + (lin - MEM_BASE), len);
	return true;
}

static const uint32_t cmds[] = {
	NL_CMD_QUERY, NL_CMD_HELLO, NL_CMD_VM_CREATE, NL_CMD_VM_DESTROY, NL_CMD_LOG, NL_CMD_MARK,
	0x4e4c0006u, 0,
};
static const uint32_t sizes[] = {
	0, sizeof(struct nl_hello), sizeof(struct nl_vm_create), sizeof(struct nl_vm_destroy),
	sizeof(struct nl_log), sizeof(struct nl_mark), 0, 0,
};

static void check_accepted(const struct vm_abi_call *c)
{
	switch (c->cmd) {
	case NL_CMD_HELLO:
		g_assert_true(memchr(c->u.hello.name, 0, NL_NAME_MAX) && c->u.hello.name[0]);
		break;
	case NL_CMD_VM_CREATE:
		g_assert_true(memchr(c->u.create.name, 0, NL_NAME_MAX) && c->u.create.id);
		g_assert_true(c->u.create.n_ranges >= 1 && c->u.create.n_ranges <= NL_MAP_MAX);
		break;
	case NL_CMD_LOG:
		g_assert_true(c->u.log.len <= NL_LOG_MAX && strlen(c->text) == c->u.log.len);
		break;
	case NL_CMD_MARK:
		g_assert_true(memchr(c->u.mark.name, 0, NL_NAME_MAX) && c->u.mark.name[0]);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 6)
		return 0;
	unsigned sel = data[0] & 7, flags = data[1];
	uint32_t ebx;
	memcpy(&ebx, data + 2, 4);
	size_t n = size - 6;
	uint8_t *mem = g_memdup2(data + 6, n ? n : 1);
	if (!(flags & 4))
		ebx = MEM_BASE + (uint32_t)(ebx % (n + 64));
	uint32_t off = ebx - MEM_BASE;
	if (ebx >= MEM_BASE && off + 8 <= n) {
		uint32_t v = NL_ABI_VERSION, s = sizes[sel];
		if (flags & 1)
			memcpy(mem + off, &v, 4);
		if (flags & 2)
			memcpy(mem + off + 4, &s, 4);
	}
	struct window w = { mem, n };
	struct vm_abi_call *call = g_new(struct vm_abi_call, 1);
	const char *why = NULL;
	uint32_t res = vm_abi_decode(cmds[sel], ebx, win_read, &w, call, &why);
	g_assert_true(res <= NL_E_LENGTH);
	g_assert_true(res == NL_OK ? why == NULL : why != NULL && *why);
	g_assert_true(vm_abi_result_name(res)[0] == 'N');
	if (res == NL_OK)
		check_accepted(call);
	g_free(call);
	g_free(mem);
	return 0;
}
