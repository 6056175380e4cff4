/*
 * mptable.h - the Intel MultiProcessor Specification (version 1.4) tables
 * of the board: how an operating system finds its CPUs, its IOAPIC and the
 * wiring of the ISA interrupt lines without ACPI.
 *
 *   0xF0000  floating pointer "_MP_" (16 bytes) ---+
 *   0xF0010  configuration table "PCMP"  <---------+
 *              header (44 bytes)
 *              processor      BSP, enabled (APIC ID cpu_apic_id)
 *              processor      AP, enabled (cpu_apic_id + 1), ... one per CPU
 *              bus            0 "ISA   "
 *              I/O APIC       enabled, at ioapic_addr
 *              I/O interrupt  ISA IRQ 0 -> pin 2, IRQ n -> pin n (n = 1, 3..15)
 *              local int      ExtINT -> BSP LINT0, NMI -> all LINT1
 *
 * The entries are those SeaBIOS writes for QEMU's i440FX board, less the
 * PCI bus and PCI interrupts (the board has no PCI), so the ISA bus is bus 0.
 * All ISA interrupts "conform to the bus" (edge-triggered, active high).
 */
#ifndef NESTLAB_MPTABLE_H
#define NESTLAB_MPTABLE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "physmem.h"

#define MPTABLE_FLOAT_ADDR 0xf0000u  /* in the BIOS area, 16-byte aligned */
#define MPTABLE_CONFIG_ADDR 0xf0010u
#define MPTABLE_SPEC_REV 4           /* version 1.4 */
#define MPTABLE_FLOAT_SIZE 16u
#define MPTABLE_HEADER_SIZE 44u
#define MPTABLE_CPU_ENTRY_SIZE 20u
#define MPTABLE_ENTRY_SIZE 8u        /* every other entry type */
#define MPTABLE_MAX_CPUS 16

/* Entry types. */
enum { MP_ENTRY_CPU, MP_ENTRY_BUS, MP_ENTRY_IOAPIC, MP_ENTRY_IOINT, MP_ENTRY_LOCALINT };
/* Interrupt types of I/O and local interrupt entries. */
enum { MP_INT_INT, MP_INT_NMI, MP_INT_SMI, MP_INT_EXTINT };

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
#define MP_IOAPIC_ENABLED 0x01
#define MP_LOCAL_ALL 0xff     /* destination "every local APIC" */
#define MP_ISA_BUS_ID 0
#define MP_ISA_IRQS 16
#define MP_TIMER_PIN 2        /* ISA IRQ 0 arrives on IOAPIC pin 2 */
#define MP_CASCADE_IRQ 2      /* the 8259A cascade: no I/O interrupt entry */

/* The board's interrupt controllers, as the tables describe them. The
 * IOAPIC ID must be the one in the IOAPIC's own ID register. */
struct mptable_config {
	uint32_t lapic_addr;
	uint8_t cpu_apic_id, cpu_apic_version;
	uint32_t cpu_signature; /* CPUID.1:EAX (family, model, stepping) */
	uint32_t cpu_features;  /* CPUID.1:EDX */
	uint8_t ioapic_id, ioapic_version;
	uint32_t ioapic_addr;
	unsigned n_cpus;        /* CPUs listed (0 means 1), APIC IDs from cpu_apic_id on */
};

/*
 * Writes the floating pointer and the configuration table (checksums set)
 * at MPTABLE_FLOAT_ADDR with pmem_store(). Returns false with a BOOT_ERROR
 * if RAM does not reach 1 MiB (BOOT_ERROR_TOO_BIG) or a ROM hides the BIOS
 * area (BOOT_ERROR_OVERLAP).
 */
bool mptable_write(struct pmem *pm, const struct mptable_config *cfg, GError **error);

/* The number of bytes of the configuration table (header and entries). */
uint32_t mptable_config_length(const struct mptable_config *cfg);

#endif
