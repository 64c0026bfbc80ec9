/* boot.c - the boot order, phase by phase, from the platform up to the
 * services and the BSP loop; one step per line. This is the one file
 * that knows every layer; each init gets what it needs here. The
 * composition roots (main.c, and the test and benchmark images) only
 * order the phases and add their own steps between them. */
#include "boot.h"

#include "../drivers/virtio_net/virtio_net.h"
#include "../kernel/acpi.h"
#include "../kernel/console.h"
#include "../kernel/cpu.h"
#include "../kernel/kheap.h"
#include "../kernel/lapic.h"
#include "../kernel/multiboot.h"
#include "../kernel/paging.h"
#include "../kernel/ssp.h"
#include "../kernel/time.h"
#include "../kernel/trap.h"
#include "../kernel/x86.h"
#include "../lwip_port/net.h"
#include "../smp/sched.h"
#include "http/api.h"
#include "jobs/jobs.h"
#include "udp_compute/udp_compute.h"

extern char __kernel_start[], __kernel_end[];

/* Finished jobs are answered from here, the one place (jobs_poll); then
 * the event streams see what changed. */
static void deliver(void)
{
	jobs_poll();
	api_poll();
}

/* The BSP loop: serve the network, deliver finished jobs, run a chunk or
 * halt (smp/sched.c). */
static const struct bsp_ops bsp_ops = {
	.serve = net_poll,
	.deliver = deliver,
	.next_deadline_ns = net_next_deadline_ns,
};

/* The job engine's heap rule (jobs.h, JOBS_HEAP_RESERVE) asks this. */
static size_t heap_free_bytes(void)
{
	struct kheap_stats st;
	kheap_stats(&st);
	return st.total - st.used;
}

/* Not protected itself: ssp_init changes the guard word under it, and
 * it returns (its own check would then fail). */
__attribute__((no_stack_protector))
void boot_platform(uint32_t magic, uint32_t info, struct cmdline *cl, struct boot_config *cfg)
{
	struct boot_info bi;

	console_init();                         /* COM1, so everything after can report */
	kprintf("\nappliance: booting\n");
	ssp_init();                             /* stack canary; no caller on the stack holds the old one */
	trap_init();                            /* IDT: from here a fault reports, never a silent reset */
	multiboot_parse(magic, info, &bi);      /* command line, RAM, RSDP */
	cmdline_parse(cl, bi.cmdline);
	config_parse(cl, cfg);                  /* the one reading of the product's options */
	kheap_init((void *)bi.heap_base, bi.heap_size);  /* malloc from here on */
	time_init();                            /* PIT off, PICs masked, TSC calibrated */
	acpi_init(bi.rsdp);                     /* cores and IOAPIC from the MADT */
	paging_init();                          /* W^X tables, NX, page 0 unmapped: "mmu: ..." */
	lapic_init();                           /* x2APIC or xAPIC */
	cpu_table_init(acpi.apic_ids, acpi.ncpus, lapic_id(), lapic_x2apic());  /* cpus[], GDT */
	lapic_init_cpu();                       /* BSP's local APIC */
	lapic_timer_init();                     /* one-shot timer, never periodic */
	sched_init(cfg->sched);                 /* work table (sched=) and wake-up IPI */
	static char shown[CMDLINE_MAX];
	cmdline_redact(bi.cmdline, "token", shown, sizeof(shown));      /* never print the token */
	kprintf("boot: cmdline \"%s\", %lu KiB RAM, heap %lu KiB, image %lu KiB, timer %s\n",
		shown, (unsigned long)(bi.ram_total >> 10), (unsigned long)(bi.heap_size >> 10),
		(unsigned long)((__kernel_end - __kernel_start) >> 10), lapic_timer_mode());
	sti();
	sched_set_placement(cfg->placement);    /* which halted cores wake first */
}

void boot_engine(const struct boot_config *cfg)
{
	static struct jobs_observer events_observer = { .changed = api_job_changed };
	jobs_init(&(struct jobs_platform){      /* the job engine both endpoints share */
		.now_ns = time_ns,
		.add = sched_add,
		.withdraw = sched_withdraw,
		.core_index = sched_core_index,
		.ncores = ncpus,
		.kick = sched_kick_bsp,
		.mem_free = heap_free_bytes,
	});
	jobs_observe(&events_observer);         /* the event streams' job events */
	jobs_set_cap(cfg->max_job_s);           /* max_job_s=: measures a core first */
	if (cfg->max_job_s)
		kprintf("jobs: max_job_s=%lu; one core counts the primes below 10^7 in about %lu ms\n",
			(unsigned long)cfg->max_job_s,
			(unsigned long)(jobs_estimate_us(&(struct job_spec){ 10000000, 1, JOB_REPEAT }) /
					1000));
}

bool boot_net(const struct boot_config *cfg)
{
	struct netdev *nd = vnet_init(lapic_id());      /* NIC, interrupts to the BSP */
	if (!nd) {
		kprintf("appliance: no network device; serving nothing\n");
		return false;
	}
	net_init(nd, cfg->ip);                  /* lwIP, DHCP or ip= */
	return true;
}

void boot_services(const struct boot_config *cfg)
{
	udp_compute_init(cfg->udp_port, &cfg->udp_allow);      /* API.md section 2 */
	api_init(&(struct api_config){          /* API.md section 3 */
		.port = cfg->http_port,
		.token = cfg->token,
		.status = {                     /* what /api/status and /metrics show */
			.uptime_us = time_us,
			.sched = sched_stats,
			.core = sched_core_stats,
			.chunks = sched_chunk_stats,
			.smp = smp_stats,
			.jobs = jobs_counters,
			.net = net_stats,
			.heap = kheap_stats,
			.udp = udp_compute_stats,
		},
	});
}

void boot_serve(void)
{
	kprintf("appliance: ready\n");
	sched_bsp_loop(&bsp_ops);               /* never returns */
}
