#include "clock.h"

#include <errno.h>
#include <time.h>

static double
read_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
clock_monotonic_seconds(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

double
clock_wall_seconds(void)
{
	return read_clock(CLOCK_REALTIME);
}

double
clock_process_cpu_seconds(void)
{
	return read_clock(CLOCK_PROCESS_CPUTIME_ID);
}

double
clock_thread_cpu_seconds(void)
{
	return read_clock(CLOCK_THREAD_CPUTIME_ID);
}

void
clock_sleep_seconds(double seconds)
{
	if (!(seconds > 0))
		return;
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
