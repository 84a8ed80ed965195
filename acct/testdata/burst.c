/*
 * burst N: N short processes, one after the other: vfork(), the child
 * _exit(0)s at once, the parent waits for it and prints its pid, one a
 * line. Exits 1 if a vfork or a wait fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long i, n = argc > 1 ? atol(argv[1]) : 0;

	for (i = 0; i < n; i++) {
		pid_t pid = vfork();

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
			perror("burst");
			return 1;
		}
		printf("%d\n", (int)pid);
	}
	return fflush(stdout) != 0;
}
