/* boot.h - the boot order every image shares, in phases: the product's
 * composition root (main.c) calls them in order; a test image
 * (tests/image/) or a benchmark image (bench/floor/) calls the same
 * phases and inserts its own steps between them. */
#ifndef APPLIANCE_BOOT_H
#define APPLIANCE_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernel/cmdline.h"
#include "config.h"

/* On the BSP alone, from boot/boot.S's long mode: console, traps, the
 * multiboot information, the command line (into cl, kept for an image's
 * own options, and the product's options into cfg), heap, time, ACPI,
 * paging, local APIC, the cpu table and the scheduler; prints the boot
 * line and enables interrupts. The APs are not started. */
void boot_platform(uint32_t magic, uint32_t info, struct cmdline *cl, struct boot_config *cfg);
/* The job engine both endpoints share, with its observers and max_job_s=;
 * after the APs started. */
void boot_engine(const struct boot_config *cfg);
/* NIC and lwIP (DHCP or ip=): false, and said so, when there is no NIC. */
bool boot_net(const struct boot_config *cfg);
/* The UDP compute endpoint and the HTTP control plane (API.md 2 and 3). */
void boot_services(const struct boot_config *cfg);
/* "appliance: ready", then the BSP loop: serve, deliver, run or halt. */
void boot_serve(void) __attribute__((noreturn));

#endif
