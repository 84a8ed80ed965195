/* headless: a process whose main thread ends before its other thread
 * (pthread_exit in main), as some C servers do: the process runs on.
 *
 *   headless
 *
 * It starts a thread that sleeps for ever, then waits for SIGUSR1, and on
 * it ends its main thread alone. The process ends when killed. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, 0); /* the thread inherits the mask */
	pthread_t t;
	if (pthread_create(&t, 0, sleeper, 0) != 0)
		return 3;
	int sig;
	sigwait(&set, &sig);
	pthread_exit(0);
}
