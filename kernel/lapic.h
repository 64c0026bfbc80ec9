/* lapic.h - the local APIC of each core, in x2APIC mode where CPUID
 * offers it and xAPIC (MMIO) otherwise. */
#ifndef KERNEL_LAPIC_H
#define KERNEL_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

void lapic_init(void);          /* once, on the BSP: pick the mode */
void lapic_init_cpu(void);      /* every core: enable, mask LVTs */
bool lapic_ready(void);
bool lapic_x2apic(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, int vector);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
void lapic_send_nmi_all_but_self(void);

/* One-shot timer on this core: fires VEC_TIMER once, at or after
 * deadline_ns (time_ns() clock). TSC-deadline mode where CPUID offers
 * it, else one-shot count mode. Rearming replaces the previous shot.
 * Returns when it will really fire: earlier than asked when the count
 * register cannot reach that far (the caller then arms again). */
void lapic_timer_init(void);    /* once, on the BSP: calibrate */
uint64_t lapic_timer_oneshot(uint64_t deadline_ns);
void lapic_timer_cancel(void);
const char *lapic_timer_mode(void);

#endif
