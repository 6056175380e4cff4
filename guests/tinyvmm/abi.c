/*
 * abi.c - tinyvmm's introspection ABI calls (abi.h, docs/abi.md).
 *
 * The blocks the engine reads are the core's own structs; their i386
 * offsets are the ABI's (nlabi.h NL_VCPU_*, NL_NEST_*, NL_REGS_*), checked
 * here where they are laid out.
 */
#include <stddef.h>

#include "abi.h"
#include "nlabi.h"
#include "rt.h"

_Static_assert(offsetof(struct vmm_vcpu, cr0) == NL_VCPU_CR0, "vcpu.cr0");
_Static_assert(offsetof(struct vmm_vcpu, cr3) == NL_VCPU_CR3, "vcpu.cr3");
_Static_assert(offsetof(struct vmm_vcpu, cr4) == NL_VCPU_CR4, "vcpu.cr4");
_Static_assert(offsetof(struct vmm_vcpu, vflags) == NL_VCPU_VFLAGS, "vcpu.vflags");
_Static_assert(offsetof(struct vmm_vcpu, cpl) == NL_VCPU_CPL, "vcpu.cpl");
_Static_assert(offsetof(struct vmm_vcpu, cs_sel) == NL_VCPU_CS, "vcpu.cs_sel");
_Static_assert(offsetof(struct vmm_vcpu, ss_sel) == NL_VCPU_SS, "vcpu.ss_sel");
_Static_assert(offsetof(struct vmm_vcpu, msr_apic_base) == NL_VCPU_SIZE, "vcpu size read");
_Static_assert(offsetof(struct vmm_nest, active) == NL_NEST_ACTIVE, "nest.active");
_Static_assert(offsetof(struct vmm_nest, outer) == NL_NEST_OUTER, "nest.outer");
_Static_assert(offsetof(struct vmm_regs, r) == NL_REGS_R, "regs.r");
_Static_assert(offsetof(struct vmm_regs, eip) == NL_REGS_EIP, "regs.eip");
_Static_assert(offsetof(struct vmm_regs, eflags) == NL_REGS_EFLAGS, "regs.eflags");
_Static_assert(offsetof(struct vmm_regs, seg) == NL_REGS_SEG, "regs.seg");
_Static_assert(offsetof(struct nl_run, r) == NL_RUN_R, "run.r");
_Static_assert(offsetof(struct nl_run, eip) == NL_RUN_EIP, "run.eip");
_Static_assert(offsetof(struct nl_run, seg) == NL_RUN_SEG, "run.seg");
_Static_assert(VMM_EXIT_COUNT == NL_EXIT_REASONS, "exit reasons");

#define GUEST_ID 1u

static volatile uint32_t running; /* the running-child word */

static void copy_name(char dst[NL_NAME_MAX], const char *src)
{
	uint32_t n = 0;
	for (; *src && *src != ' ' && n < NL_NAME_MAX - 1; src++) {
		if (*src == '/') { /* the path's last part */
			n = 0;
			continue;
		}
		dst[n++] = (*src >= 0x20 && *src <= 0x7e) ? *src : '?';
	}
	dst[n] = 0;
	if (!n)
		memcpy(dst, "guest", 6);
}

void abi_start(const struct vmm *vm, const struct nl_run *run, uint32_t ram_base,
               uint32_t ram_size, const char *name)
{
	static struct nl_hello hello = { .version = NL_ABI_VERSION, .size = sizeof hello,
		                         .name = "tinyvmm" };
	static struct nl_vm_create vc;
	hello.running = (uint32_t)(uintptr_t)&running;
	if (nl_call(NL_CMD_HELLO, &hello) != NL_OK)
		return;
	vc = (struct nl_vm_create){
		.version = NL_ABI_VERSION, .size = sizeof vc, .id = GUEST_ID,
		.vcpu = (uint32_t)(uintptr_t)&vm->vcpu, .regs = (uint32_t)(uintptr_t)run,
		.nest = run ? (uint32_t)(uintptr_t)&vm->nest : 0, .stats = (uint32_t)(uintptr_t)&vm->stats,
		.n_ranges = 1, .ranges = { { 0, ram_size, ram_base } },
	};
	copy_name(vc.name, name);
	nl_call(NL_CMD_VM_CREATE, &vc);
}

void abi_child_running(uint32_t id)
{
	running = id;
}

void abi_child_stopped(void)
{
	running = 0;
}
