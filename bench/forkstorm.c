/*
 * Fork storm: many short-lived processes, as fast as the kernel makes them.
 *
 *   forkstorm fork N [J]      N times: vfork(); the child _exit(0)s at once,
 *                             the parent waits for it. J workers (default 1,
 *                             at most 64) share the N between them.
 *   forkstorm exec N PATH [PIDS [NAPMS]]
 *                             N times: vfork() + execv(PATH, {PATH, "nap",
 *                             NAPMS}); the child sleeps NAPMS (default 0)
 *                             milliseconds and exits 0. With NAPMS > 0 up
 *                             to 64 children live at once, else one. With
 *                             PIDS ("-": none), each child's pid is written
 *                             there, one a line.
 *   forkstorm nap MS          sleep MS milliseconds, exit 0 (the children).
 *   forkstorm                 exit 0.
 *
 * It prints "forks=N exits_nonzero=M secs=S" on stdout at the end and exits 1
 * if a fork or an exec failed. A storm of forks without exec gives the proc
 * connector a FORK and an EXIT per process and no EXEC: what a watcher's
 * filter must drop without waking anyone. An exec storm gives EXEC and EXIT
 * of a known comm (the base name of PATH): what forkstat and a watch rule by
 * name both see. A child that naps lives long enough to be named from /proc
 * after its EXEC event: one reaped already has no name to match.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXLIVE 64

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

/* spawn starts a child that execs path with "nap" and nap as arguments, or
 * exits 0 at once if path is NULL. */
static __attribute__((noinline)) pid_t spawn(const char *path, const char *nap)
{
	char *argv[] = {(char *)path, "nap", (char *)nap, NULL};
	pid_t pid = vfork();

	if (pid == 0) {
		if (path)
			execv(path, argv);
		_exit(path ? 127 : 0);
	}
	return pid;
}

static int forks(long n, long *bad)
{
	for (long i = 0; i < n; i++) {
		pid_t pid = spawn(NULL, NULL);

		if (pid < 0)
			return -1;
		*bad += reap(pid);
	}
	return 0;
}

static int forks_jobs(long n, int jobs, long *bad)
{
	pid_t w[MAXLIVE];

	if (jobs < 1 || jobs > MAXLIVE)
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

static int execs(long n, const char *path, FILE *pids, const char *nap, long *bad)
{
	int most = atoi(nap) > 0 ? MAXLIVE : 1, live = 0, r;

	for (long i = 0; i < n; i++) {
		pid_t pid;

		if (live == most) {
			*bad += reap_any();
			live--;
		}
		pid = spawn(path, nap);
		if (pid < 0)
			return -1;
		live++;
		if (pids)
			fprintf(pids, "%d\n", (int)pid);
	}
	while ((r = reap_any()) >= 0)
		*bad += r;
	return 0;
}

static int nap(const char *ms)
{
	long m = atol(ms);
	struct timespec ts = {m / 1000, m % 1000 * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

int main(int argc, char **argv)
{
	long n, bad = 0;
	int rc = -1;
	FILE *pids = NULL;
	double t0;

	if (argc == 3 && strcmp(argv[1], "nap") == 0)
		return nap(argv[2]);
	if (argc < 3)
		return 0;
	n = atol(argv[2]);
	t0 = now();
	if (strcmp(argv[1], "fork") == 0) {
		rc = argc > 3 ? forks_jobs(n, atoi(argv[3]), &bad) : forks(n, &bad);
	} else if (strcmp(argv[1], "exec") == 0 && argc > 3) {
		if (argc > 4 && strcmp(argv[4], "-") != 0 && !(pids = fopen(argv[4], "w"))) {
			perror(argv[4]);
			return 1;
		}
		rc = execs(n, argv[3], pids, argc > 5 ? argv[5] : "0", &bad);
		if (pids && fclose(pids) != 0)
			rc = -1;
	} else {
		fprintf(stderr, "usage: forkstorm fork N [J] | exec N PATH [PIDS [NAPMS]] | nap MS\n");
		return 2;
	}
	if (rc < 0)
		perror("forkstorm");
	printf("forks=%ld exits_nonzero=%ld secs=%.3f\n", n, bad, now() - t0);
	return rc < 0 || bad;
}
