/*
 * test-abi.c - the introspection ABI's decoder (engine/vm/abi.c) against
 * well-formed and malformed calls: every malformed one is an NL_E_* code
 * with a sentence, never a read outside what the guest maps.
 *
 * The guest's memory is a 64 KiB window at linear MEM_BASE; everything
 * else is unmapped, as a wild pointer would find it.
 */
#include <glib.h>
#include <string.h>

#include "abi.h"

#define MEM_BASE 0x10000u
#define MEM_SIZE 0x10000u

static uint8_t mem[MEM_SIZE];

static bool mem_read(void *opaque, uint32_t lin, void *buf, size_t len)
{
	(void)opaque;
	if (lin < MEM_BASE || lin - MEM_BASE > MEM_SIZE || len > MEM_SIZE - (lin - MEM_BASE))
		return false;
	memcpy(buf, mem + (lin - MEM_BASE), len);
	return true;
}

static uint32_t call(uint32_t cmd, uint32_t desc, struct vm_abi_call *out)
{
	const char *why = NULL;
	uint32_t r = vm_abi_decode(cmd, desc, mem_read, NULL, out, &why);
	g_assert_true(r == NL_OK ? why == NULL : why != NULL);
	return r;
}

static struct nl_vm_create *good_create(void)
{
	static struct nl_vm_create c;
	c = (struct nl_vm_create){ .version = NL_ABI_VERSION, .size = sizeof c, .id = 1,
		                   .name = "guest", .n_ranges = 2,
		                   .ranges = { { 0, 0x100000, 0x400000 },
		                               { 0x100000, 0x200000, 0x800000 } } };
	return &c;
}

static uint32_t put(const void *d, size_t n)
{
	memset(mem, 0, sizeof mem);
	memcpy(mem, d, n);
	return MEM_BASE;
}

static void test_unknown_command(void)
{
	struct vm_abi_call out;
	g_assert_cmpuint(call(0x4e4c00ff, MEM_BASE, &out), ==, NL_E_COMMAND);
	g_assert_cmpuint(call(0, MEM_BASE, &out), ==, NL_E_COMMAND);
	g_assert_cmpuint(call(NL_CMD_QUERY, 0xdeadbeef, &out), ==, NL_OK); /* no descriptor read */
}

static void test_wild_pointer(void)
{
	struct vm_abi_call out;
	struct nl_mark m = { NL_ABI_VERSION, sizeof m, "x", 1 };
	put(&m, sizeof m);
	g_assert_cmpuint(call(NL_CMD_MARK, 0, &out), ==, NL_E_FAULT);
	g_assert_cmpuint(call(NL_CMD_MARK, 0xfffffffc, &out), ==, NL_E_FAULT);
	/* A descriptor whose header is mapped but whose end is not. */
	memcpy(mem + MEM_SIZE - 8, &m, 8);
	g_assert_cmpuint(call(NL_CMD_MARK, MEM_BASE + MEM_SIZE - 8, &out), ==, NL_E_FAULT);
	/* A LOG whose text points nowhere. */
	struct nl_log l = { NL_ABI_VERSION, sizeof l, 0x90000000u, 4 };
	g_assert_cmpuint(call(NL_CMD_LOG, put(&l, sizeof l), &out), ==, NL_E_FAULT);
}

static void test_wrong_version(void)
{
	struct vm_abi_call out;
	struct nl_hello h = { 2, sizeof h, "tinyvmm", MEM_BASE + 0x100, 0 };
	g_assert_cmpuint(call(NL_CMD_HELLO, put(&h, sizeof h), &out), ==, NL_E_VERSION);
	h.version = NL_ABI_VERSION;
	h.size = sizeof h + 4;
	g_assert_cmpuint(call(NL_CMD_HELLO, put(&h, sizeof h), &out), ==, NL_E_VERSION);
	h.size = sizeof h;
	g_assert_cmpuint(call(NL_CMD_HELLO, put(&h, sizeof h), &out), ==, NL_OK);
	g_assert_cmpstr(out.u.hello.name, ==, "tinyvmm");
	g_assert_cmpuint(out.u.hello.running, ==, MEM_BASE + 0x100);
}

static void test_bad_names(void)
{
	struct vm_abi_call out;
	struct nl_mark m = { NL_ABI_VERSION, sizeof m, "", 7 };
	g_assert_cmpuint(call(NL_CMD_MARK, put(&m, sizeof m), &out), ==, NL_E_NAME);
	memset(m.name, 'a', sizeof m.name); /* no NUL in its field */
	g_assert_cmpuint(call(NL_CMD_MARK, put(&m, sizeof m), &out), ==, NL_E_NAME);
	strcpy(m.name, "tab\there");
	g_assert_cmpuint(call(NL_CMD_MARK, put(&m, sizeof m), &out), ==, NL_E_NAME);
	strcpy(m.name, "ok name");
	g_assert_cmpuint(call(NL_CMD_MARK, put(&m, sizeof m), &out), ==, NL_OK);
	g_assert_cmpuint(out.u.mark.value, ==, 7);
}

static void test_create_good(void)
{
	struct vm_abi_call out;
	struct nl_vm_create *c = good_create();
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_OK);
	g_assert_cmpuint(out.u.create.n_ranges, ==, 2);
	g_assert_cmpuint(out.u.create.ranges[1].mpa, ==, 0x800000);
}

static void test_create_id_zero(void)
{
	struct vm_abi_call out;
	struct nl_vm_create *c = good_create();
	c->id = 0;
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_ID);
	struct nl_vm_destroy d = { NL_ABI_VERSION, sizeof d, 0 };
	g_assert_cmpuint(call(NL_CMD_VM_DESTROY, put(&d, sizeof d), &out), ==, NL_E_ID);
}

static void test_map_overlapping(void)
{
	struct vm_abi_call out;
	struct nl_vm_create *c = good_create();
	c->ranges[1].gpa = 0xff000; /* guest side overlaps range 0 */
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_MAP);
	c = good_create();
	c->ranges[1].mpa = 0x4ff000; /* monitor side overlaps */
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_MAP);
	c = good_create();
	c->ranges[0].size = 0;
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_MAP);
	c = good_create();
	c->ranges[0].mpa = 0x400800; /* not page aligned */
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_MAP);
}

static void test_map_oversized(void)
{
	struct vm_abi_call out;
	struct nl_vm_create *c = good_create();
	c->n_ranges = 0;
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_MAP_SIZE);
	c->n_ranges = NL_MAP_MAX + 1;
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_MAP_SIZE);
	c = good_create();
	c->ranges[1] = (struct nl_range){ 0xfff00000u, 0x200000, 0x800000 }; /* past 4 GiB */
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_MAP_SIZE);
	c = good_create();
	c->ranges[1] = (struct nl_range){ 0x100000, 0x200000, 0xfffff000u };
	g_assert_cmpuint(call(NL_CMD_VM_CREATE, put(c, sizeof *c), &out), ==, NL_E_MAP_SIZE);
}

static void test_log(void)
{
	struct vm_abi_call out;
	struct nl_log l = { NL_ABI_VERSION, sizeof l, MEM_BASE + 0x100, NL_LOG_MAX + 1 };
	put(&l, sizeof l);
	g_assert_cmpuint(call(NL_CMD_LOG, MEM_BASE, &out), ==, NL_E_LENGTH);
	l.len = 6;
	put(&l, sizeof l);
	memcpy(mem + 0x100, "hi\nyou", 6);
	g_assert_cmpuint(call(NL_CMD_LOG, MEM_BASE, &out), ==, NL_OK);
	g_assert_cmpstr(out.text, ==, "hi.you"); /* controls shown as '.' */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vm/abi/unknown-command-is-nl-e-command", test_unknown_command);
	g_test_add_func("/vm/abi/wild-pointer-is-nl-e-fault", test_wild_pointer);
	g_test_add_func("/vm/abi/wrong-version-or-size-is-nl-e-version", test_wrong_version);
	g_test_add_func("/vm/abi/bad-name-is-nl-e-name", test_bad_names);
	g_test_add_func("/vm/abi/create-decodes-map", test_create_good);
	g_test_add_func("/vm/abi/id-zero-is-nl-e-id", test_create_id_zero);
	g_test_add_func("/vm/abi/overlapping-map-is-nl-e-map", test_map_overlapping);
	g_test_add_func("/vm/abi/oversized-map-is-nl-e-map-size", test_map_oversized);
	g_test_add_func("/vm/abi/log-length-and-text", test_log);
	return g_test_run();
}
