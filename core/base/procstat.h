/*
 * procstat — the process metrics Prometheus clients export under standard
 * names (process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds,
 * process_cpu_seconds_total) and ragkernel_build_info{version,abi}, read
 * from /proc when /metrics is rendered.
 */
#ifndef RK_CORE_PROCSTAT_H
#define RK_CORE_PROCSTAT_H

/* Any thread; serialised inside. Registers the series on first use. */
void procstat_update(void);

#endif
