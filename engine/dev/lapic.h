/*
 * lapic.h - the local APIC of the one CPU (xAPIC, memory-mapped at
 * 0xFEE00000), as the Intel SDM vol. 3 chapter "Advanced Programmable
 * Interrupt Controller" describes it for a Pentium 4 / P6-class part with
 * version 0x14 and six LVT entries.
 *
 * Registers (offset from the base, each a 32-bit word on a 16-byte line):
 *
 *   0x020 ID          bits 24-31, writable          0x0B0 EOI        write-only
 *   0x030 version     0x00050014 (RO)               0x0D0 LDR        bits 24-31
 *   0x080 TPR         bits 0-7                      0x0E0 DFR        bits 28-31 (rest read 1)
 *   0x090 APR         reads 0 (no bus arbitration)  0x0F0 SVR        vector 0-7, enable bit 8
 *   0x0A0 PPR         computed (RO)                 0x100-0x170 ISR  (RO)
 *   0x180-0x1F0 TMR   (RO)                          0x200-0x270 IRR  (RO)
 *   0x280 ESR         write-then-read               0x300/0x310 ICR  low/high
 *   0x320 LVT timer   0x330 LVT thermal   0x340 LVT perf   0x350 LVT LINT0
 *   0x360 LVT LINT1   0x370 LVT error     0x380 initial count
 *   0x390 current count (RO, computed from the clock)   0x3E0 divide configuration
 *
 * Timer: it counts down at the bus clock divided by 1..128; the bus clock
 * is CLOCK_HZ (the modelled CPU clock, 100 MHz), so with divide-by-1 one
 * count is one cycle. One-shot and periodic modes; TSC-deadline mode is not
 * modelled (CPUID does not advertise it), so LVT timer bit 18 is reserved.
 * On expiry the vector is set in IRR unless the LVT entry is masked.
 *
 * The state at reset is the one firmware leaves behind (SeaBIOS does this
 * on QEMU and most BIOSes on real boards): the APIC software-enabled
 * (SVR = 0x1FF) in virtual wire mode, LINT0 = ExtINT (0x8700) so the 8259A
 * reaches the CPU, LINT1 = NMI (0x8400), every other LVT masked. So a
 * guest that never touches the APIC sees a plain PC/AT interrupt system,
 * and one that does (xv6: mask LINT0/LINT1, program the timer, use the
 * IOAPIC) finds the registers in a known state. The hardware power-up
 * state (SVR = 0xFF, all LVTs masked) is what the APIC returns to when it
 * is re-enabled through IA32_APIC_BASE after being disabled there.
 *
 * Interrupt sources: the timer, LINT0/LINT1 (dev_lapic_set_lint), fixed
 * interrupts from the IOAPIC (dev_lapic_deliver) and IPIs to itself (ICR).
 * The CPU takes an interrupt with dev_lapic_ack() (INTA); an EOI of a
 * level-triggered vector (TMR bit set) is broadcast with the `eoi` hook.
 *
 * ICR: the destination (shorthand self, all, all but self; a physical ID
 * or 0xFF; a logical flat/cluster match against each LDR/DFR) selects
 * among the board's APICs (dev_lapic_set_peers; alone, this one or
 * nobody). Fixed IPIs set IRR in every APIC selected; lowest-priority ones
 * in the one with the lowest TPR class (ties: the lowest APIC ID); NMI
 * calls each one's `nmi` hook; INIT its `init` hook (an INIT level
 * de-assert does nothing); start-up its `sipi` hook (the board starts a
 * CPU that waits for one); SMI is ignored (no SMM). The delivery status
 * bit always reads 0: a message is delivered at once, as the ICR is
 * written.
 *
 * Errors (ESR): send illegal vector (an IPI with a vector below 16),
 * receive illegal vector (such a vector reaching this APIC from the ICR,
 * an LVT entry or the IOAPIC: it is not set in IRR), illegal register
 * address (a reserved offset). Writing the ESR moves the errors collected
 * since the last write into the readable register. A newly collected error
 * raises the LVT error vector unless it is masked. Checksum and accept
 * errors of the P6 serial APIC bus cannot happen here.
 *
 * Left out, and why: x2APIC (the CPU is i686-class), the thermal and
 * performance counter sources (the entries are kept, nothing raises them),
 * focus processor checking and EOI broadcast suppression (not in version
 * 0x14 parts), relocation of the APIC base through IA32_APIC_BASE (the
 * registers stay at 0xFEE00000). Accesses narrower than 32 bits read the
 * low bytes of the register and are ignored when writing (the SDM leaves
 * them undefined).
 */
#ifndef NESTLAB_LAPIC_H
#define NESTLAB_LAPIC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "device.h"

#define LAPIC_MMIO_BASE 0xfee00000u
#define LAPIC_MMIO_SIZE 0x1000u
#define LAPIC_VERSION_VALUE 0x00050014u /* max LVT entry 5 (six LVTs), version 0x14 */

/* Register offsets */
#define LAPIC_REG_ID 0x020
#define LAPIC_REG_VERSION 0x030
#define LAPIC_REG_TPR 0x080
#define LAPIC_REG_APR 0x090
#define LAPIC_REG_PPR 0x0a0
#define LAPIC_REG_EOI 0x0b0
#define LAPIC_REG_LDR 0x0d0
#define LAPIC_REG_DFR 0x0e0
#define LAPIC_REG_SVR 0x0f0
#define LAPIC_REG_ISR 0x100
#define LAPIC_REG_TMR 0x180
#define LAPIC_REG_IRR 0x200
#define LAPIC_REG_ESR 0x280
#define LAPIC_REG_ICR_LO 0x300
#define LAPIC_REG_ICR_HI 0x310
#define LAPIC_REG_LVT_TIMER 0x320
#define LAPIC_REG_LVT_THERMAL 0x330
#define LAPIC_REG_LVT_PERF 0x340
#define LAPIC_REG_LVT_LINT0 0x350
#define LAPIC_REG_LVT_LINT1 0x360
#define LAPIC_REG_LVT_ERROR 0x370
#define LAPIC_REG_TIMER_ICR 0x380
#define LAPIC_REG_TIMER_CCR 0x390
#define LAPIC_REG_TIMER_DCR 0x3e0

/* SVR */
#define LAPIC_SVR_ENABLE 0x100u
#define LAPIC_SVR_WRITABLE 0x1ffu

/* LVT and ICR fields */
#define LAPIC_VECTOR_MASK 0xffu
#define LAPIC_FIRST_LEGAL_VECTOR 16 /* vectors 0-15 are reserved for exceptions */
#define LAPIC_DM_SHIFT 8
#define LAPIC_DM_MASK 0x700u
#define LAPIC_DM_FIXED 0u
#define LAPIC_DM_LOWEST 1u
#define LAPIC_DM_SMI 2u
#define LAPIC_DM_NMI 4u
#define LAPIC_DM_INIT 5u
#define LAPIC_DM_STARTUP 6u
#define LAPIC_DM_EXTINT 7u
#define LAPIC_DEST_LOGICAL 0x800u /* ICR bit 11 */
#define LAPIC_DELIVS 0x1000u      /* delivery status (always 0 here) */
#define LAPIC_LVT_POLARITY_LOW 0x2000u
#define LAPIC_LVT_REMOTE_IRR 0x4000u
#define LAPIC_ICR_LEVEL_ASSERT 0x4000u
#define LAPIC_TRIGGER_LEVEL 0x8000u
#define LAPIC_LVT_MASKED 0x10000u
#define LAPIC_TIMER_PERIODIC 0x20000u
#define LAPIC_ICR_SHORTHAND_SHIFT 18
#define LAPIC_ICR_SHORTHAND_MASK 0xc0000u
#define LAPIC_ICR_DEST_SHIFT 24

enum lapic_shorthand { LAPIC_SH_NONE, LAPIC_SH_SELF, LAPIC_SH_ALL, LAPIC_SH_OTHERS };

/* ESR bits */
#define LAPIC_ESR_SEND_ILLEGAL_VECTOR 0x20u
#define LAPIC_ESR_RECV_ILLEGAL_VECTOR 0x40u
#define LAPIC_ESR_ILLEGAL_REGISTER 0x80u

/* The LVT entries, in register order. */
enum lapic_lvt {
	LAPIC_LVT_TIMER,
	LAPIC_LVT_THERMAL,
	LAPIC_LVT_PERF,
	LAPIC_LVT_LINT0,
	LAPIC_LVT_LINT1,
	LAPIC_LVT_ERROR,
	LAPIC_LVT_COUNT
};

/* The logical destination encoding of dev_lapic_is_dest() and of the
 * IOAPIC's deliver callback: bit 8 set means logical destination mode. */
#define LAPIC_DEST_ID_LOGICAL 0x100

struct dev_lapic;

/* What the APIC asks of the board (every hook may be NULL). */
struct dev_lapic_hooks {
	void *opaque;
	/* The CPU's interrupt line may have changed (IRR, ISR, TPR, SVR or
	 * LINT0 changed): the board recomputes INTR from dev_lapic_pending()
	 * and dev_lapic_accepts_pic(). */
	void (*changed)(void *opaque);
	/* Deliver an NMI to the CPU (LINT1 programmed NMI, an NMI IPI to self). */
	void (*nmi)(void *opaque);
	/* EOI of a level-triggered vector: broadcast it to the IOAPIC. */
	void (*eoi)(void *opaque, int vector);
	/* An INIT IPI reached this CPU: the board resets the CPU (on a one-CPU
	 * machine it may as well ignore it; the APIC itself is unchanged). */
	void (*init)(void *opaque);
	/* A start-up IPI with `vector` reached this CPU: a CPU waiting for one
	 * starts in real mode at vector << 12 (CS = vector << 8, IP = 0); any
	 * other ignores it. NULL: ignored (a one-CPU board). */
	void (*sipi)(void *opaque, int vector);
	/* Several CPUs: the APIC of the CPU that is running, which is the one
	 * an access to LAPIC_MMIO_BASE reaches (each CPU sees its own APIC at
	 * the same address). NULL: always this one. */
	struct dev_lapic *(*select)(void *opaque);
};

/* All guest-visible state; saved as is (no pointers, no padding). */
struct lapic_state {
	uint64_t timer_start;    /* cycle at which the count was `timer_initial` */
	uint64_t timer_deadline; /* the next expiry, or CLOCK_NEVER */
	uint32_t isr[8], tmr[8], irr[8];
	uint32_t lvt[LAPIC_LVT_COUNT];
	uint32_t id; /* the ID register (ID in bits 24-31) */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr;         /* the readable ESR (latched at the last ESR write) */
	uint32_t esr_pending; /* errors collected since the last ESR write */
	uint32_t icr_lo, icr_hi;
	uint32_t timer_initial, timer_dcr;
	uint8_t timer_running; /* counting (initial != 0 and a one-shot not yet done) */
	uint8_t hw_disabled;   /* IA32_APIC_BASE bit 11 clear: the APIC is off */
	uint8_t lint_level[2]; /* the LINT0/LINT1 input wires */
	uint8_t pad[4];
};

struct dev_lapic {
	struct device dev; /* first: the board keeps a list of these */
	struct lapic_state st;
	const struct dev_board *board;
	struct dev_lapic_hooks hooks;
	uint8_t reset_id; /* the ID the board gave (restored by reset) */
	struct dev_lapic *const *peers; /* every APIC of the board, or NULL: only this one */
	int n_peers;
	struct clock_timer timer;
};

/*
 * Creates the local APIC with ID `apic_id` and maps its registers at
 * LAPIC_MMIO_BASE on b->pmem. `hooks` is copied. Returns NULL with a
 * NESTLAB_ERROR_CONFIG error if the MMIO range is taken. The APIC starts in
 * its reset state (virtual wire mode, see above); free it with its
 * dev.ops->free.
 */
struct dev_lapic *dev_lapic_new(const struct dev_board *b, uint8_t apic_id,
                                const struct dev_lapic_hooks *hooks, GError **error);

/* A further CPU's local APIC (an application processor's) with ID
 * `apic_id`: as dev_lapic_new, but its registers are not mapped (the first
 * APIC's mapping reaches it through its `select` hook). Never fails. */
struct dev_lapic *dev_lapic_new_ap(const struct dev_board *b, uint8_t apic_id,
                                   const struct dev_lapic_hooks *hooks);

/* The APICs an IPI from `l` may reach: `peers` (kept by pointer, `n` of
 * them, `l` among them), in the order lowest-priority ties are broken in. */
void dev_lapic_set_peers(struct dev_lapic *l, struct dev_lapic *const *peers, int n);

/* INIT: the APIC returns to its power-up state (SVR = 0xFF, every LVT
 * masked), keeping its ID and its hardware enable (SDM "Local APIC State
 * After It Receives an INIT-Deassert Message" and the INIT reset). */
void dev_lapic_init_state(struct dev_lapic *l);

/* True if IRR holds a vector whose priority class is above the PPR's and
 * the APIC is enabled (software and hardware): the CPU should be
 * interrupted. */
bool dev_lapic_pending(const struct dev_lapic *l);

/* INTA: moves the highest IRR vector to ISR and returns it. If nothing in
 * IRR is above the PPR (it was masked by a TPR write in between), returns
 * the spurious vector (SVR bits 0-7) and changes nothing. */
int dev_lapic_ack(struct dev_lapic *l);

/* A fixed (or lowest-priority) interrupt message for this APIC from the
 * IOAPIC or an IPI: sets the vector in IRR, and in TMR if level-triggered
 * (cleared if edge). A vector below 16 is refused with a receive-illegal-
 * vector error. Dropped while the APIC is disabled in IA32_APIC_BASE. */
void dev_lapic_deliver(struct dev_lapic *l, int vector, bool level_triggered);

/* True if the 8259A drives the CPU's INTR: LINT0 is unmasked with delivery
 * mode ExtINT (virtual wire), or the APIC is disabled in IA32_APIC_BASE
 * (the CPU then behaves as one without an APIC). */
bool dev_lapic_accepts_pic(const struct dev_lapic *l);

/* The LINT0 (pin 0) or LINT1 (pin 1) input wire. A rising edge of an
 * unmasked NMI entry calls the nmi hook; a fixed entry sets its vector
 * (edge: on the rising edge; level: while high, held off by the entry's
 * remote IRR until the EOI). ExtINT on LINT0 is the board's business
 * (dev_lapic_accepts_pic). */
void dev_lapic_set_lint(struct dev_lapic *l, int pin, bool level);

/* True if an interrupt message addressed to `dest` reaches this APIC:
 * `dest` is the 8-bit destination, with LAPIC_DEST_ID_LOGICAL set for the
 * logical destination mode (matched against LDR under the DFR's flat or
 * cluster model); physical 0xFF is the broadcast. */
bool dev_lapic_is_dest(const struct dev_lapic *l, int dest);

/* The CPU wrote IA32_APIC_BASE (MSR 0x1B): bit 11 clear disables the
 * APIC (it then answers no interrupts and the 8259A reaches the CPU
 * directly); setting it again brings the APIC back in its hardware
 * power-up state (SVR = 0xFF, all LVTs masked), as on a Pentium 4. The
 * base address bits are ignored (no relocation). */
void dev_lapic_set_base_msr(struct dev_lapic *l, uint64_t value);

#endif
