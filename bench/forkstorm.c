/*
 * Fork storm: processes that live for nothing, as fast as the kernel makes them.
 *
 *   forkstorm fork N [J]      N times: vfork(); the child _exit(0)s at once,
 *                             the parent waits for it. J workers (default 1)
 *                             share the N between them.
 *   forkstorm exec N PATH [PIDS]
 *                             N times: vfork() + execv(PATH, {PATH}), wait.
 *                             With PIDS, each child's pid is written there,
 *                             one a line, after it is reaped.
 *   forkstorm                 (no arguments, e.g. run as PATH above) exit 0.
 *
 * It prints "forks=N exits_nonzero=M secs=S" on stdout at the end and exits 1
 * if a fork or an exec failed. A storm of forks without exec gives the proc
 * connector a FORK and an EXIT per process and no EXEC: what a watcher's
 * filter must drop without waking anyone. An exec storm gives EXEC and EXIT
 * of a known comm (the base name of PATH): what forkstat and a watch rule by
 * name both see.
 *
 * vfork, not fork: the kernel reports the same FORK and EXIT, but fork copies
 * the parent's page tables, which costs a millisecond a process on the
 * virtual machines we test on (no nested paging), against tens of
 * microseconds for vfork. spawn() holds the vfork so that the child never
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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* reap waits for pid; it returns 1 if the child did not exit 0. */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* spawn starts a child that execs path, or exits 0 at once if path is NULL. */
static __attribute__((noinline)) pid_t spawn(const char *path)
{
	char *argv[] = {(char *)path, NULL};
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
		pid_t pid = spawn(NULL);

		if (pid < 0)
			return -1;
		*bad += reap(pid);
	}
	return 0;
}

static int forks_jobs(long n, int jobs, long *bad)
{
	pid_t w[64];

	if (jobs < 1 || jobs > 64)
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

static int execs(long n, const char *path, FILE *pids, long *bad)
{
	for (long i = 0; i < n; i++) {
		pid_t pid = spawn(path);

		if (pid < 0)
			return -1;
		*bad += reap(pid);
		if (pids)
			fprintf(pids, "%d\n", (int)pid);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n, bad = 0;
	int rc = -1;
	FILE *pids = NULL;
	double t0;

	if (argc < 3)
		return 0;
	n = atol(argv[2]);
	t0 = now();
	if (strcmp(argv[1], "fork") == 0) {
		rc = argc > 3 ? forks_jobs(n, atoi(argv[3]), &bad) : forks(n, &bad);
	} else if (strcmp(argv[1], "exec") == 0 && argc > 3) {
		if (argc > 4 && !(pids = fopen(argv[4], "w"))) {
			perror(argv[4]);
			return 1;
		}
		rc = execs(n, argv[3], pids, &bad);
		if (pids && fclose(pids) != 0)
			rc = -1;
	} else {
		fprintf(stderr, "usage: forkstorm fork N [J] | exec N PATH [PIDS]\n");
		return 2;
	}
	if (rc < 0)
		perror("forkstorm");
	printf("forks=%ld exits_nonzero=%ld secs=%.3f\n", n, bad, now() - t0);
	return rc < 0 || bad;
}
