/*
 * vmm_int.h - what the files of the monitor core share (not for the host).
 *
 * Guest faults travel as a `vfault` value up to vmm_trap(), which reflects
 * them into the guest; 0 means no fault. A page fault also leaves its
 * address in vm->fault_cr2.
 */
#ifndef NESTLAB_VMM_INT_H
#define NESTLAB_VMM_INT_H

#include "vmm.h"
#include "x86emu.h"

typedef uint32_t vfault;

#define VF_VALID 0x80000000u
#define VF_NOERR 0x40000000u
#define VF(vec, err) (VF_VALID | ((uint32_t)(vec) << 16) | ((uint32_t)(err) & 0xffffu))
#define VF_N(vec) (VF_VALID | VF_NOERR | ((uint32_t)(vec) << 16))
/* The trapping instruction is not one the monitor emulates: the trap is
 * the guest's own fault, reflected unchanged. */
#define VF_NOT_EMULATED 0xffffffffu
#define VF_VEC(f) ((int)(((f) >> 16) & 0xff))
#define VF_ERR(f) (((f) & VF_NOERR) ? -1 : (int)((f) & 0xffffu))

enum {
	X_DE = 0, X_DB = 1, X_NMI = 2, X_BP = 3, X_OF = 4, X_UD = 6, X_NM = 7, X_DF = 8,
	X_TS = 10, X_NP = 11, X_SS = 12, X_GP = 13, X_PF = 14,
};

/* MSR_NESTLAB_CTL's bits (engine/cpu/cpu.h, which the core does not include). */
#define NESTLAB_CTL_STRICT_ 1u
#define NESTLAB_CTL_CPUID_FAULT_ 2u
#define NESTLAB_CTL_SEGLOAD_TRAP_ 4u

#define PAGE 4096u
#define PAGE_MASK 0xfffff000u

/* How the core accesses guest-virtual memory. */
enum vacc { VACC_READ, VACC_WRITE, VACC_FETCH };

/* The monitor's reserved linear range (vmm_reserve): its page-directory
 * index, and whether `gva` lies in it. */
static inline bool resv_pde_index(const struct vmm *vm, uint32_t idx)
{
	return vm->resv.base && idx == vm->resv.base >> 22;
}
static inline bool resv_contains(const struct vmm *vm, uint32_t gva)
{
	return vm->resv.base && gva - vm->resv.base < VMM_RESV_SIZE;
}

/* {====== mem.c: the monitor's pages, guest memory ====== */
/* A zeroed page (or `n` contiguous ones) of the monitor's own; 0 if none. */
uint32_t vmem_page_alloc(struct vmm *vm);
uint32_t vmem_pages_alloc(struct vmm *vm, unsigned n);
void vmem_page_free(struct vmm *vm, uint32_t hpa);
void vmem_zero_page(struct vmm *vm, uint32_t hpa);
uint32_t vmem_rd_hpa(struct vmm *vm, uint32_t hpa);      /* 4 bytes */
void vmem_wr_hpa(struct vmm *vm, uint32_t hpa, uint32_t v);
/* gpa -> hpa for RAM; false for device or unbacked addresses. */
bool vmem_gpa_ram(const struct vmm *vm, uint32_t gpa, uint32_t *hpa);
/* gpa -> hpa for the read-only ROM (vmm_map_rom); false elsewhere. */
bool vmem_gpa_rom(const struct vmm *vm, uint32_t gpa, uint32_t *hpa);
/* Guest-physical access of 1, 2 or 4 bytes (RAM, or the VM's devices). */
uint32_t vmem_rd_gpa(struct vmm *vm, uint32_t gpa, int size);
void vmem_wr_gpa(struct vmm *vm, uint32_t gpa, uint32_t v, int size);
/* `len` bytes of guest RAM at `gpa` (within one page) changed: the shadows,
 * descriptor copies and composed maps that depend on them are told. */
void vmem_guest_wrote(struct vmm *vm, uint32_t gpa, uint32_t len);
/*
 * Walks the guest's tables for `gva` as the hardware would for an access
 * of kind `acc` at privilege `user` (setting A/D bits only where the
 * hardware sets them). Returns 0 and *gpa, or a #PF fault (CR2 noted).
 * With paging off, gpa = gva.
 */
vfault vmem_walk(struct vmm *vm, uint32_t gva, enum vacc acc, bool user, uint32_t *gpa);
/* Guest-virtual access of 1, 2 or 4 bytes with the guest's privilege
 * (`user`), page-crossing handled. */
vfault vmem_rd_gva(struct vmm *vm, uint32_t gva, int size, bool user, uint32_t *v);
vfault vmem_wr_gva(struct vmm *vm, uint32_t gva, uint32_t v, int size, bool user);
/* Segment + offset access through a real segment register's cache (limit
 * checks as the manual says for expand-up segments). */
vfault vmem_rd_seg(struct vmm *vm, const struct vmm_regs *r, int sreg, uint32_t off, int size,
                  uint32_t *v);
vfault vmem_wr_seg(struct vmm *vm, const struct vmm_regs *r, int sreg, uint32_t off, uint32_t v,
                  int size);
/* }====================================================================== */

/* {====== spt.c: shadow paging and the nested map ====== */
/* Builds or finds the shadow root for the current guest CR3 and view and
 * points regs->cr3 at it (VMM_DIRTY_CTL | VMM_DIRTY_TLB). */
void spt_switch(struct vmm *vm, struct vmm_regs *regs);
/* Drops every shadow (CR0.WP or paging changed). */
void spt_flush_all(struct vmm *vm);
/* INVLPG: drops the shadow entries for `gva` in every root. */
void spt_invlpg(struct vmm *vm, uint32_t gva);
/* A real #PF at gva while the guest ran: fills the shadow (hidden), or
 * returns the guest's #PF (true), or VMM_EXIT_MMIO / VMM_EXIT_PT_WRITE in
 * *kind with the gpa for emulation. */
vfault spt_fault(struct vmm *vm, uint32_t gva, uint32_t err, enum vmm_exit *kind, uint32_t *gpa);
/* The guest wrote `gpa` (emulated): drops the shadows derived from it. */
void spt_guest_wrote(struct vmm *vm, uint32_t gpa);
bool spt_is_pt_frame(const struct vmm *vm, uint32_t gpa);
/* Makes guest frame `gpa` read-only in every shadow (or in the nested map). */
void spt_write_protect(struct vmm *vm, uint32_t gpa);
/* Puts the reserved range's PDE into every shadow root. */
void spt_install_resv(struct vmm *vm);
/* Nested paging: makes guest frame `gpa` writable or read-only in the map. */
void npt_set_writable(struct vmm *vm, uint32_t gpa, bool w);
/* Nested paging: builds the map of the share. False if out of pages. */
bool npt_build(struct vmm *vm);
/* Nested paging: maps host-physical [gpa, gpa + size) read-only at gpa. */
bool npt_map_rom(struct vmm *vm, uint32_t gpa, uint32_t size);
/* }====================================================================== */

/* {====== desc.c: descriptors and segments ====== */
/* Reads guest descriptor `sel` from the guest's GDT/LDT. */
vfault vdesc_read(struct vmm *vm, uint16_t sel, uint64_t *d);
/* Empties the shadow GDT (or LDT): entries are filled on first use. */
void vdesc_shadow_gdt(struct vmm *vm);
void vdesc_shadow_ldt(struct vmm *vm);
/* The real CPU found shadow descriptor `sel` not present (#NP or #SS
 * with `sel` as error code): fills it from the guest's table if the
 * guest's own rules allow the load (returns 0: retry), else returns the
 * fault the guest would have seen. */
vfault vdesc_fault(struct vmm *vm, uint16_t sel, int vec);
/* True if the shadow entry for `sel` (current view) has not been filled:
 * the real CPU then sees a null descriptor and raises #GP(sel). */
bool vdesc_unfilled(struct vmm *vm, uint16_t sel);
/* True if guest frame `gpa` holds a descriptor a shadow table copies: its
 * writes trap (write-protected in the shadows or the nested map). */
bool vdesc_is_dt_frame(const struct vmm *vm, uint32_t gpa);
/* The guest wrote [gpa, gpa + size): drops the shadow descriptors copied
 * from there (they are filled again from memory on their next use, as a
 * real CPU reads memory on every segment load). */
void vdesc_guest_wrote(struct vmm *vm, uint32_t gpa, int size);
/* The guest writes to frame `gpa` itself: drops every shadow descriptor
 * copied from it and stops protecting it (until a load copies one again). */
void vdesc_release_frame(struct vmm *vm, uint32_t gpa);
/* Writes the monitor's reserved entries (vm->resv) into both shadow GDTs. */
void vdesc_install_resv(struct vmm *vm);
/* vmm_install_segments: the shadow entries for the selectors in `regs`. */
void vdesc_install_segments(struct vmm *vm, const struct vmm_regs *regs);
/* At a trap: empties the shadow entries vdesc_install_segments wrote. */
void vdesc_uninstall(struct vmm *vm);
/* Points the real GDTR/LDTR at the shadow tables of the current view. */
void vdesc_set_view(struct vmm *vm, struct vmm_regs *regs);
/* Loads segment `sreg` with the guest's selector `sel` as a MOV/POP would
 * at the guest's CPL (CS: as a far transfer to privilege `cpl`). */
vfault vdesc_load(struct vmm *vm, struct vmm_regs *regs, int sreg, uint16_t sel);
/* Loads CS for a far transfer to a code segment at privilege `cpl`. */
vfault vdesc_load_cs(struct vmm *vm, struct vmm_regs *regs, uint16_t sel, uint64_t d, int cpl);
/* Loads SS with an already checked descriptor. */
void vdesc_load_ss_raw(struct vmm *vm, struct vmm_regs *regs, uint16_t sel, uint64_t d);
void vdesc_seg_from(struct vmm_seg *s, uint16_t sel, uint64_t d);
uint16_t vdesc_attr(uint64_t d);
/* }====================================================================== */

/* {====== event.c: delivery into the guest, IRET ====== */
/* Delivers event `vec` through the guest's IDT. `soft`: INT n (gate DPL
 * checked), `ext`: external. Faults in delivery are combined as the
 * hardware does (double fault; triple fault stops the VM). */
void ev_deliver(struct vmm *vm, struct vmm_regs *regs, int vec, int err, bool soft, bool ext);
vfault ev_iret(struct vmm *vm, struct vmm_regs *regs, bool o32);
/* INT n: delivers through gate `vec` with the DPL check, EIP already past
 * the instruction; returns the fault (nothing committed) if it fails. */
vfault ev_int(struct vmm *vm, struct vmm_regs *regs, int vec);
/* The guest's CPL changed: switch views (shadow root, descriptor tables). */
void ev_cpl_changed(struct vmm *vm, struct vmm_regs *regs);
uint32_t ev_guest_flags(const struct vmm *vm, uint32_t real);
/* After a return to an outer level: data segments the new level may not
 * use become null (by the guest's own descriptors). */
void ev_null_inner_segments(struct vmm *vm, struct vmm_regs *regs);
/* The stack for privilege `cpl` from the guest's TSS, checked (#TS, #SS). */
vfault ev_inner_stack(struct vmm *vm, int cpl, uint16_t *ss, uint64_t *ssd, uint32_t *esp,
                      int ext);
void ev_set_guest_flags(struct vmm *vm, struct vmm_regs *regs, uint32_t f);
/* Loads segment `s` as v86 mode does: base sel * 16, limit 64 KiB. */
#define VMM_V86_SEG_ATTR (DESC_P | DESC_S | DESC_DPL | DESC_TYPE_W | DESC_TYPE_A)
void ev_v86_seg(struct vmm_regs *regs, int s, uint16_t sel);
/* }====================================================================== */

/* {====== emulate.c: the trapped instructions ====== */
/* Emulates the instruction at the guest's EIP after a #GP/#UD/#NP trap or
 * for an MMIO/page-table access. Fills res; returns a fault to reflect. */
vfault emu_insn(struct vmm *vm, struct vmm_regs *regs, struct vmm_result *res, bool mem_access);
/* The real CR0 for the guest's virtual one. */
uint32_t emu_real_cr0(const struct vmm *vm);
/* }====================================================================== */

/* {====== task.c: task switches ====== */
enum vtask_reason { VTASK_JMP, VTASK_CALL, VTASK_IRET, VTASK_INT };
/* Switches the guest to the task of TSS descriptor `d` (selector `sel`,
 * read from its GDT; the caller checked its type). The old task resumes
 * at `eip`; `err` >= 0 is pushed on the new task's stack (an exception's
 * error code). Returns the fault the switch raised (#NP, #TS, #PF, #GP):
 * before the commit point nothing has changed, after it the fault
 * belongs to the new task. */
vfault vtask_switch(struct vmm *vm, struct vmm_regs *regs, uint16_t sel, uint64_t d,
                    enum vtask_reason why, uint32_t eip, int err);
/* The same through task gate `gate` (its TSS must be an available one in
 * the GDT: #GP or #NP with the TSS selector | `ext` otherwise). */
vfault vtask_gate(struct vmm *vm, struct vmm_regs *regs, uint64_t gate, enum vtask_reason why,
                  uint32_t eip, int err, int ext);
/* IRET with the guest's NT set: back along the back link of its TSS. */
vfault vtask_iret(struct vmm *vm, struct vmm_regs *regs, uint32_t eip);
/* }====================================================================== */

/* {====== nest.c: the assist virtualized ====== */
/* WRMSR MSR_NESTLAB_RUN: checks the run block at guest-physical `pa` as the
 * CPU would; #GP(0) if it cannot be used, else the entry is pending. */
vfault vnest_request(struct vmm *vm, uint64_t pa);
/* At the end of the trap whose WRMSR retired: the guest's guest gets the CPU. */
void vnest_enter(struct vmm *vm, struct vmm_regs *regs, bool *halt, bool *shadow);
/* An event of the guest's guest: into its run block; the guest goes on. */
void vnest_exit(struct vmm *vm, struct vmm_regs *regs, int vec, int err, unsigned flags,
                uint32_t cr2, uint32_t gpa);
/* A nested miss of the guest's guest run with the composed map: true if
 * the core resolved it (filled, retried), false if it is the guest's exit. */
bool vnest_npf(struct vmm *vm, uint32_t gpa, int err);
/* A write to guest frame `gpa` that this core's map refused: true if the
 * frame holds a table of the guest monitor's nested map that the composed
 * map was made from (no longer watched: the write may go ahead). */
bool vnest_table_written(struct vmm *vm, uint32_t gpa);
/* This core took a write permission back in its own map: the composed
 * map, which may have copied it, is made afresh. */
void vnest_write_taken(struct vmm *vm);
/* regs->mode: the real guest mode for what runs now. */
void vnest_mode(const struct vmm *vm, struct vmm_regs *regs);
/* }====================================================================== */

#endif
