#define _GNU_SOURCE /* memmem */
/*
 * test-vmtree.c - the engine API's VM tree (nestlab.h, "the tree"): VMs
 * as first-class objects on one machine. Two device test kernels run as
 * VM 0 and VM 1 under the shadow-paging monitor.
 *
 * usage: test-vmtree KERNEL0 KERNEL1 (GTest; paths /vmm/tree/...)
 */
#include <glib.h>
#include <string.h>

#include "nestlab.h"

static const char *kernel0, *kernel1;

static struct machine *two_vms(enum machine_monitor mon)
{
	static struct machine_vm_config vm1;
	vm1 = (struct machine_vm_config){ .name = "second", .kernel_path = kernel1, .mem_mib = 8 };
	struct machine_config cfg = {
		.kernel_path = kernel0, .mem_mib = 16, .monitor = mon, .vms = &vm1, .n_vms = 1,
		.console_quiet = true,
	};
	cfg.serial[0].kind = MACHINE_SERIAL_BUFFER;
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_assert_no_error(error);
	return m;
}

static void info(struct machine *m, unsigned i, struct machine_vm_info *out)
{
	g_assert_true(machine_vm_info(m, i, out));
}

/* The tree's nodes: names, levels, shares, states before and after a run. */
static void test_nodes(void)
{
	struct machine *m = two_vms(MACHINE_MONITOR_SHADOW);
	struct machine_vm_info a, b;
	g_assert_cmpuint(machine_vm_count(m), ==, 2);
	info(m, 0, &a);
	info(m, 1, &b);
	g_assert_cmpstr(a.name, ==, "vm0");
	g_assert_cmpstr(b.name, ==, "second");
	g_assert_cmpint(a.level, ==, 1);
	g_assert_cmpint(a.state, ==, MACHINE_VM_RUNNING);
	g_assert_cmpuint(a.mem_bytes, ==, 16u << 20);
	g_assert_cmpuint(b.mem_bytes, ==, 8u << 20);
	/* Shares do not overlap: VM 1's lies above VM 0's RAM and monitor. */
	g_assert_cmpuint(b.share_base, >=, a.share_base + a.mem_bytes);
	g_assert_cmpint(machine_vm_find(m, "second"), ==, 1);
	g_assert_cmpint(machine_vm_find(m, "nope"), ==, -1);
	/* Both start at the kernel entry, at CPL 0 as the guests see it. */
	g_assert_cmpuint(a.regs.cpl, ==, 0);
	g_assert_cmpuint(b.regs.cpl, ==, 0);
	g_assert_cmpuint(a.regs.icount, ==, 0);
	g_assert_cmpint(machine_run(m, 0), ==, MACHINE_EXIT);
	info(m, 0, &a);
	info(m, 1, &b);
	g_assert_cmpint(a.state, ==, MACHINE_VM_STOPPED);
	g_assert_cmpint(b.state, ==, MACHINE_VM_STOPPED);
	g_assert_cmpint(a.stop, ==, MACHINE_EXIT);
	g_assert_cmpint(b.exit_status, ==, a.exit_status);
	g_assert_cmpuint(a.exits, >, 0);
	g_assert_nonnull(strstr((const char *)machine_vm_console(m, 1)->data, "DONE: 0 failures"));
	machine_free(m);
}

/* A paused VM retires nothing while the other runs; resumed, it goes on. */
static void test_pause_resume(void)
{
	struct machine *m = two_vms(MACHINE_MONITOR_SHADOW);
	struct machine_vm_info b0, b1;
	g_assert_cmpint(machine_run(m, 200000), ==, MACHINE_LIMIT);
	g_assert_true(machine_vm_pause(m, 1));
	g_assert_false(machine_vm_pause(m, 1)); /* already paused */
	info(m, 1, &b0);
	g_assert_cmpint(b0.state, ==, MACHINE_VM_PAUSED);
	/* VM 0 runs to its end; with VM 1 paused nothing else can run, so the
	 * run returns VM 0's end. */
	g_assert_cmpint(machine_run(m, 0), ==, MACHINE_EXIT);
	info(m, 1, &b1);
	g_assert_cmpuint(b1.regs.icount, ==, b0.regs.icount);
	g_assert_true(machine_vm_resume(m, 1));
	g_assert_false(machine_vm_resume(m, 1));
	g_assert_cmpint(machine_run(m, 0), ==, MACHINE_EXIT);
	info(m, 1, &b1);
	g_assert_cmpint(b1.state, ==, MACHINE_VM_STOPPED);
	g_assert_cmpuint(b1.regs.icount, >, b0.regs.icount);
	machine_free(m);
}

/* Destroy: the VM is gone (and says so); the other runs to its end. */
static void test_destroy(void)
{
	struct machine *m = two_vms(MACHINE_MONITOR_NESTED);
	g_assert_cmpint(machine_run(m, 100000), ==, MACHINE_LIMIT);
	g_assert_true(machine_vm_destroy(m, 0));
	g_assert_false(machine_vm_destroy(m, 0));
	g_assert_false(machine_vm_pause(m, 0));
	char h[65];
	g_assert_false(machine_vm_state_hash(m, 0, h));
	struct machine_vm_info a, b;
	info(m, 0, &a);
	g_assert_cmpint(a.state, ==, MACHINE_VM_DESTROYED);
	g_assert_cmpuint(a.regs.icount, >, 0);
	machine_run(m, 0);
	info(m, 1, &b);
	g_assert_cmpint(b.state, ==, MACHINE_VM_STOPPED);
	g_assert_cmpint(b.stop, ==, MACHINE_EXIT);
	g_assert_true(machine_vm_state_hash(m, 1, h));
	machine_free(m);
}

/* Translation at the VM's level: guest-virtual -> guest-physical -> host-
 * physical, and the bytes at the host-physical address are the guest's. */
static void test_translate(void)
{
	struct machine *m = two_vms(MACHINE_MONITOR_SHADOW);
	g_assert_cmpint(machine_run(m, 50000), ==, MACHINE_LIMIT);
	struct machine_vm_info b;
	info(m, 1, &b);
	uint32_t gpa, hpa;
	/* Paging is off in these kernels: the kernel's own entry address. */
	g_assert_true(machine_vm_translate(m, 1, 0x100000, &gpa, &hpa));
	g_assert_cmphex(gpa, ==, 0x100000);
	g_assert_cmphex(hpa, ==, b.share_base + 0x100000);
	/* The kernel was loaded at 1 MiB with its multiboot header in the
	 * first 8 KiB: the header's magic is at the host-physical address the
	 * translation gives, inside VM 1's share (not at VM 0's 1 MiB). */
	static const uint8_t magic[4] = {0x02, 0xb0, 0xad, 0x1b};
	uint8_t page[8192];
	machine_phys_read(m, hpa, page, sizeof page);
	g_assert_nonnull(memmem(page, sizeof page, magic, 4));
	g_assert_cmpuint(hpa, >=, b.share_base);
	g_assert_cmpuint(hpa, <, b.share_base + b.mem_bytes);
	/* Beyond its RAM there is nothing to translate to. */
	g_assert_false(machine_vm_translate(m, 1, 0x7ff00000, &gpa, &hpa));
	g_assert_false(machine_vm_translate(m, 5, 0x100000, &gpa, &hpa));
	machine_free(m);
}

/* Bare, there is no tree; --vm without a monitor is refused with a reason. */
static void test_bare_has_no_vms(void)
{
	struct machine_config cfg = { .kernel_path = kernel0, .console_quiet = true };
	cfg.serial[0].kind = MACHINE_SERIAL_BUFFER;
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(machine_vm_count(m), ==, 0);
	machine_free(m);
	struct machine_vm_config vm1 = { .name = "x", .kernel_path = kernel1 };
	cfg.vms = &vm1;
	cfg.n_vms = 1;
	g_assert_null(machine_new(&cfg, &error));
	g_assert_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "--monitor"));
	g_clear_error(&error);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc < 3) {
		g_printerr("usage: test-vmtree KERNEL0 KERNEL1\n");
		return 2;
	}
	kernel0 = argv[1];
	kernel1 = argv[2];
	g_test_add_func("/vmm/tree/nodes-names-shares-states", test_nodes);
	g_test_add_func("/vmm/tree/paused-vm-retires-nothing", test_pause_resume);
	g_test_add_func("/vmm/tree/destroyed-vm-gone-other-finishes", test_destroy);
	g_test_add_func("/vmm/tree/translate-gva-gpa-hpa", test_translate);
	g_test_add_func("/vmm/tree/bare-machine-has-no-vms", test_bare_has_no_vms);
	return g_test_run();
}
