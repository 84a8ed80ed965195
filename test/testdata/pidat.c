/* pidat: run a program as the process of a chosen pid, as a reused pid
 * would be, in a new session (so it leads its own process group), and
 * wait for it.
 *
 *   pidat PID PROG ARGS...
 *
 * clone3 with set_tid (Linux 5.5, root) gives the child exactly PID, or
 * fails with EEXIST if PID is in use: exit 3. The exit status is the
 * child's (128+N if killed by signal N). */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pidat PID PROG ARGS...\n");
		return 2;
	}
	pid_t want = (pid_t)atoi(argv[1]);
	struct clone_args a;
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	a.set_tid = (uintptr_t)&want;
	a.set_tid_size = 1;
	long pid = syscall(SYS_clone3, &a, sizeof a);
	if (pid < 0) {
		perror("pidat: clone3");
		return 3;
	}
	if (pid == 0) {
		setsid();
		execv(argv[2], argv + 2);
		_exit(127);
	}
	int st;
	while (waitpid((pid_t)pid, &st, 0) < 0)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
