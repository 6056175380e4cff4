/*
 * fuzz_vmload.c - machine_vm_load() against damaged VM states.
 *
 * Once, a machine of two VMs (the kernel in $NESTLAB_FUZZ_VM_KERNEL as the
 * first guest and as VM "dev") runs a little and VM dev is saved: a valid
 * state. Each input is an edit script on a copy of it, loaded into slot
 * dev of a new machine built the same way:
 *
 *   byte 0       bit 0: cut the state to (bytes 1-4) mod its length
 *                bit 1: edit only its first 512 bytes (the header, the
 *                       device names, the first page numbers)
 *                bit 2: load it into a machine with more RAM, so that the
 *                       VM is moved in host memory
 *   then         (offset: 4 bytes, xor: 1 byte)*, offsets mod the length
 *
 * The load must succeed or fail with a message; the host process must
 * survive (AddressSanitizer and UBSan watch) and never read outside the
 * bytes. A VM state's container (checksums, zstd) is fuzzed apart, with
 * the trace file tests.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nestlab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GByteArray *good;

static void quiet(void *opaque, const uint8_t *buf, size_t len)
{
}

static struct machine *build(uint32_t mem_mib)
{
	static struct machine_vm_config vm;
	static struct machine_config cfg;
	const char *k = g_getenv("NESTLAB_FUZZ_VM_KERNEL");
	if (!k) {
		fprintf(stderr, "fuzz-vmload: set NESTLAB_FUZZ_VM_KERNEL to a multiboot kernel\n");
		exit(2);
	}
	vm = (struct machine_vm_config){ .name = "dev", .kernel_path = k };
	cfg = (struct machine_config){ .mem_mib = mem_mib, .kernel_path = k,
		                       .monitor = MACHINE_MONITOR_SHADOW,
		                       .console = quiet, .console_quiet = true, .vms = &vm,
		                       .n_vms = 1 };
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	if (!m) {
		fprintf(stderr, "fuzz-vmload: %s\n", error->message);
		exit(2);
	}
	return m;
}

static void make_good(void)
{
	struct machine *m = build(0);
	machine_run(m, 200000);
	good = g_byte_array_new();
	if (!machine_vm_save(m, 1, good)) {
		fprintf(stderr, "fuzz-vmload: cannot save VM dev\n");
		exit(2);
	}
	machine_free(m);
}

static uint32_t u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!good)
		make_good();
	GByteArray *st = g_byte_array_new();
	g_byte_array_append(st, good->data, good->len);
	size_t i = 0;
	uint8_t flags = size ? data[i++] : 0;
	if ((flags & 1) && size >= i + 4) {
		g_byte_array_set_size(st, u32(data + i) % good->len);
		i += 4;
	}
	uint32_t span = (flags & 2) ? MIN(st->len, 512u) : st->len;
	for (; span && i + 5 <= size; i += 5)
		st->data[u32(data + i) % span] ^= data[i + 4];
	struct machine *m = build((flags & 4) ? 40 : 0);
	GError *error = NULL;
	if (!machine_vm_load(m, 1, st->data, st->len, &error)) {
		if (!error || !error->message[0])
			abort(); /* a failure must say why */
		g_error_free(error);
	}
	machine_free(m);
	g_byte_array_unref(st);
	return 0;
}
