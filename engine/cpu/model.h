/*
 * model.h - CPU models: which real part the CPU claims to be.
 *
 * A model is a table (model.c, docs/cpu.md "CPU models"): the vendor
 * string, family/model/stepping, the CPUID leaves, the CPUID.1:EDX
 * features the part has and the engine implements, and the MSRs the part
 * has, each with its reset value, its writable bits and what a write does.
 * `--cpu MODEL[,+flag,-flag...]` picks one (cpu_model_parse); the CPU
 * answers CPUID, RDMSR and WRMSR from it, and the L0 monitor virtualizes
 * the same table for its VMs (engine/vmm/l0.c).
 *
 * An MSR index the model lacks raises #GP(0), as on the part. Every model
 * has nestlab's own MSR_NESTLAB_CTL (docs/cpu.md, "Strict mode"); on a
 * model without CPUID.1:EDX.MSR, RDMSR and WRMSR raise #UD for every other
 * index (the i486 had no such instructions).
 */
#ifndef NESTLAB_CPU_MODEL_H
#define NESTLAB_CPU_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CPUID.1:EDX feature bits (Intel SDM Vol. 2A, CPUID, Table 3-11). */
#define CPUID_EDX_FPU (1u << 0)
#define CPUID_EDX_VME (1u << 1)
#define CPUID_EDX_DE (1u << 2)
#define CPUID_EDX_PSE (1u << 3)
#define CPUID_EDX_TSC (1u << 4)
#define CPUID_EDX_MSR (1u << 5)
#define CPUID_EDX_PAE (1u << 6)
#define CPUID_EDX_MCE (1u << 7)
#define CPUID_EDX_CX8 (1u << 8)
#define CPUID_EDX_APIC (1u << 9)
#define CPUID_EDX_SEP (1u << 11)
#define CPUID_EDX_MTRR (1u << 12)
#define CPUID_EDX_PGE (1u << 13)
#define CPUID_EDX_MCA (1u << 14)
#define CPUID_EDX_CMOV (1u << 15)

/* What a write to an MSR does beyond storing its writable bits. */
enum cpu_msr_kind {
	MSR_KIND_STORE,      /* kept; nothing else happens */
	MSR_KIND_TSC,        /* the time-stamp counter: cycles + offset */
	MSR_KIND_APIC_BASE,  /* the local APIC's base and global enable */
	MSR_KIND_NESTLAB,    /* MSR_NESTLAB_CTL: strict mode and friends */
	MSR_KIND_RO,         /* read-only: a write raises #GP(0) */
};

/*
 * One MSR, or `count` consecutive ones alike (MTRRs, machine-check banks).
 * A write of value V: bits in `rsvd` set in V raise #GP(0); the new value
 * is (old & ~wmask) | (V & wmask): bits outside both masks are read-only
 * (writes to them are ignored). A read-only MSR (MSR_KIND_RO) raises
 * #GP(0) on every write.
 */
struct cpu_msr_def {
	uint32_t index;
	uint16_t count;      /* 0 means 1 */
	uint8_t kind;        /* enum cpu_msr_kind */
	uint32_t needs;      /* CPUID.1:EDX bit the MSR comes with (0: always) */
	const char *name;
	uint64_t reset, wmask, rsvd;
};

struct cpu_model {
	const char *name;    /* as --cpu takes it */
	const char *part;    /* the real part it is */
	const char *qemu;    /* QEMU's -cpu of the same part, or NULL */
	char vendor[13];
	uint32_t max_leaf;   /* CPUID.0:EAX */
	uint32_t signature;  /* CPUID.1:EAX, and EDX after RESET */
	uint32_t edx;        /* CPUID.1:EDX: what the part has that the engine implements */
	uint32_t lacks;      /* CPUID.1:EDX bits the real part has and the engine does not */
	uint32_t leaf2[4];   /* CPUID.2 (cache descriptors) when max_leaf >= 2 */
	const struct cpu_msr_def *msrs;
	int n_msrs;
};

#define CPU_MSR_SLOTS 96     /* stored MSR values per CPU (every model fits) */
#define CPU_MODEL_DEFAULT 0  /* index of the default model (pentium2) */

/* The models, in the order `--cpu help` lists them. */
int cpu_model_count(void);
const struct cpu_model *cpu_model_get(int id);

/* The CPUID.1:EDX bits `+flag` may add: the ones the engine implements
 * without MSRs of their own. */
uint32_t cpu_model_addable(void);

/* The name of CPUID.1:EDX bit `bit` (QEMU's spelling), or NULL. */
const char *cpu_feature_name(int bit);

/*
 * Parses "MODEL[,+flag|-flag]..." into a model index and CPUID.1:EDX.
 * Returns false with a message in `err` (naming what exists) for an
 * unknown model or flag, or a flag the engine cannot add.
 */
bool cpu_model_parse(const char *spec, int *model, uint32_t *edx, char *err, size_t errlen);

/* Writes the `--cpu help` text into `f` (a FILE *, as void * to keep
 * stdio out of the header's users). */
void cpu_model_help(void *f);

/*
 * The MSR `index` of `m` with features `edx`: its definition and its
 * storage slot (0..CPU_MSR_SLOTS-1). Returns NULL if the part lacks it.
 */
const struct cpu_msr_def *cpu_model_msr(const struct cpu_model *m, uint32_t edx, uint32_t index,
                                        int *slot);

/* CPUID as model `m` with features `edx` answers it (the APIC bit only
 * if `apic`, the board's local APIC). */
void cpu_model_cpuid(const struct cpu_model *m, uint32_t edx, bool apic, uint32_t leaf,
                     uint32_t out[4]);

/* The reset values of every stored MSR of `m`, by slot. */
void cpu_model_msr_reset(const struct cpu_model *m, uint64_t msr[CPU_MSR_SLOTS]);

#endif
