/* beater: a heartbeat registrant as small as one can be, for the tests and
 * the benchmark that run hundreds of them (a Go client costs a Go runtime's
 * wake-ups per beat). It registers as dist/heartbeat/client.sh does, then
 * writes a beat every period, on absolute deadlines (no drift).
 *
 * usage: beater DIR NAME PERIOD_MS MISSES ACTION FIFODIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char fifo[4096], tmp[4096], reg[4096];
	struct timespec next;
	long ms;
	FILE *f;
	int fd;

	if (argc != 7)
		return 2;
	ms = atol(argv[3]);
	snprintf(fifo, sizeof fifo, "%s/heartbeat.%s.fifo", argv[6], argv[2]);
	unlink(fifo);
	if (mkfifo(fifo, 0600) < 0)
		return 1;
	fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 1;
	snprintf(tmp, sizeof tmp, "%s/tmp.%d", argv[1], (int)getpid());
	snprintf(reg, sizeof reg, "%s/.phm_%d_c%d", argv[1], (int)getpid(), (int)getpid());
	f = fopen(tmp, "w");
	if (f == NULL)
		return 1;
	fprintf(f, "fifo=%s\nperiod=%ldms\nmisses=%s\naction=%s\nname=%s\n", fifo, ms, argv[4], argv[5], argv[2]);
	if (fclose(f) != 0 || rename(tmp, reg) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		if (write(fd, ".", 1) < 0) { /* full: respawn is not reading */
		}
		next.tv_nsec += ms * 1000000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}
