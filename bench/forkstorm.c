/*
 * Fork storm: many short-lived processes, as fast as the kernel makes them.
 *
 *   forkstorm fork N [J]      N times: vfork(); the child _exit(0)s at once,
 *                             the parent waits for it. J workers (default 1,
 *                             at most 64, each a fork) share the N.
 *   forkstorm exec N LIVE PIDS PATH ARG...
 *                             N times: vfork() + execv(PATH, {PATH, ARG...}),
 *                             with up to LIVE (1 to 1024) children alive at
 *                             once. Each child's pid is written to PIDS
 *                             ("-": nowhere), one a line, as it starts.
 *   forkstorm nap MS          (a child) sleep MS milliseconds, exit 0.
 *   forkstorm hold FIFO MS    (a child) read FIFO until its end (every
 *                             writer has closed it), sleep pid % MS
 *                             milliseconds (0: not at all), exit 0.
 *   forkstorm                 exit 0.
 *
 * The storms print "forks=N exits_nonzero=M secs=S" on stdout at the end and
 * exit 1 if a fork or an exec failed or a child did not exit 0. A storm of
 * forks without exec gives the proc connector a FORK and an EXIT per process
 * and no EXEC: what a watcher's filter must drop without waking anyone. An
 * exec storm gives EXEC and EXIT of a known comm (the base name of PATH):
 * what forkstat and a watch rule by name both see. Children that hold until
 * a FIFO is closed let a test check that everyone has named them before
 * they exit, spread over MS milliseconds.
 *
 * vfork, not fork: the kernel reports the same FORK and EXIT, but fork copies
 * the parent's page tables, which on the 2-core virtual machines we test on
 * costs about a millisecond a process (measured), against some 40
 * microseconds for vfork. spawn() holds the vfork, so that the child never
 * returns into a frame the parent still uses.
 *
 * Built static when libc.a is there (an exec is then cheaper), by the tests
 * (gcc into a temporary directory) and by bench/run.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXJOBS 64
#define MAXLIVE 1024

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* status is 1 if a wait status is not a clean exit 0. */
static int status(int st)
{
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* reap waits for pid; it returns 1 if the child did not exit 0. */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return status(st);
}

/* reap_any waits for any child; 1 if it did not exit 0, -1 if none is left. */
static int reap_any(void)
{
	int st;

	while (wait(&st) < 0)
		if (errno != EINTR)
			return -1;
	return status(st);
}

/* spawn starts a child that execs argv[0], or exits 0 at once if argv is
 * NULL. */
static __attribute__((noinline)) pid_t spawn(char **argv)
{
	pid_t pid = vfork();

	if (pid == 0) {
		if (argv)
			execv(argv[0], argv);
		_exit(argv ? 127 : 0);
	}
	return pid;
}

static int forks(long n, long *bad)
{
	for (long i = 0; i < n; i++) {
		pid_t pid = spawn(NULL);

		if (pid < 0)
			return -1;
		*bad += reap(pid);
	}
	return 0;
}

static int forks_jobs(long n, int jobs, long *bad)
{
	pid_t w[MAXJOBS];

	if (jobs < 1 || jobs > MAXJOBS)
		return -1;
	for (int j = 0; j < jobs; j++) {
		w[j] = fork();
		if (w[j] < 0)
			return -1;
		if (w[j] == 0) {
			long b = 0;

			_exit(forks(n / jobs + (j < n % jobs), &b) < 0 || b ? 1 : 0);
		}
	}
	for (int j = 0; j < jobs; j++)
		*bad += reap(w[j]);
	return 0;
}

static int execs(long n, int most, FILE *pids, char **argv, long *bad)
{
	int live = 0, r;

	for (long i = 0; i < n; i++) {
		pid_t pid;

		if (live == most) {
			*bad += reap_any();
			live--;
		}
		pid = spawn(argv);
		if (pid < 0)
			return -1;
		live++;
		if (pids) {
			fprintf(pids, "%d\n", (int)pid);
			fflush(pids);
		}
	}
	while ((r = reap_any()) >= 0)
		*bad += r;
	return 0;
}

static void sleep_ms(long m)
{
	struct timespec ts = {m / 1000, m % 1000 * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int hold(const char *fifo, long spread)
{
	char b[64];
	int fd = open(fifo, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return 3;
	while ((r = read(fd, b, sizeof b)) != 0)
		if (r < 0 && errno != EINTR)
			return 3;
	close(fd);
	if (spread > 0)
		sleep_ms(getpid() % spread);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: forkstorm fork N [J] | exec N LIVE PIDS PATH ARG... | nap MS | hold FIFO MS\n");
	return 2;
}

static int storm(int argc, char **argv)
{
	long n = atol(argv[2]), bad = 0;
	int rc, live;
	FILE *pids = NULL;
	double t0 = now();

	if (strcmp(argv[1], "fork") == 0) {
		rc = argc > 3 ? forks_jobs(n, atoi(argv[3]), &bad) : forks(n, &bad);
	} else if (strcmp(argv[1], "exec") == 0 && argc > 5) {
		live = atoi(argv[3]);
		if (live < 1 || live > MAXLIVE)
			return usage();
		if (strcmp(argv[4], "-") != 0 && !(pids = fopen(argv[4], "w"))) {
			perror(argv[4]);
			return 1;
		}
		rc = execs(n, live, pids, argv + 5, &bad);
		if (pids && fclose(pids) != 0)
			rc = -1;
	} else {
		return usage();
	}
	if (rc < 0)
		perror("forkstorm");
	printf("forks=%ld exits_nonzero=%ld secs=%.3f\n", n, bad, now() - t0);
	return rc < 0 || bad;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "nap") == 0) {
		sleep_ms(atol(argv[2]));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "hold") == 0)
		return hold(argv[2], atol(argv[3]));
	if (argc < 3)
		return argc == 1 ? 0 : usage();
	return storm(argc, argv);
}
