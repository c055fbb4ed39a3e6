/*
 * The clocks the programs read, as seconds in a double: monotonic for
 * durations and deadlines, wall for what a log or a report shows, CPU for
 * what a process spent.
 */
#ifndef VEIL_COMMON_CLOCK_H
#define VEIL_COMMON_CLOCK_H

/* CLOCK_MONOTONIC: never steps back; for durations and deadlines. */
double clock_monotonic_seconds(void);

/* CLOCK_REALTIME: unix time, with its fraction. */
double clock_wall_seconds(void);

/* CLOCK_PROCESS_CPUTIME_ID: CPU time of the whole process, every thread. */
double clock_process_cpu_seconds(void);

/* CLOCK_THREAD_CPUTIME_ID: CPU time of the calling thread. */
double clock_thread_cpu_seconds(void);

/* Sleeps for seconds (0 or more), resuming after signals. */
void clock_sleep_seconds(double seconds);

#endif
