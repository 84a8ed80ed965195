/*
 * Benchmark probe: the service that every supervisor runs in bench/.
 *
 * On start it appends one line "PID REALTIME_NS\n" to the file named by argv[1]
 * (default: ./stamps), with a single O_APPEND write so that many probes can
 * share one file, then sleeps in pause() until a signal kills it.
 * s6-supervise (2.11+) runs ./run with the service directory as argv[1]: when
 * argv[1] is a directory, the probe writes to ./stamps (its cwd is that directory).
 *
 * Built static by bench/run.sh: gcc -static -O2 -o stamp stamp.c
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	char line[64];
	int n, fd;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof line, "%d %lld\n", (int)getpid(),
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fd = open(argc > 1 ? argv[1] : "stamps", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EISDIR)
		fd = open("stamps", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n)
			return 2;
		close(fd);
	}
	for (;;)
		pause();
}
