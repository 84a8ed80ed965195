/* title: a server that rewrites its command line in place, as nginx's
 * setproctitle does ("nginx: master process ...").
 *
 *   title rewrite
 *
 * overwrites its argument strings with "NAME: master process" (NAME the
 * base name of argv[0]) padded with NULs, then sleeps. Run any other way
 * it only sleeps. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "rewrite") == 0) {
		char title[256], name[256];
		snprintf(name, sizeof name, "%s", argv[0]);
		snprintf(title, sizeof title, "%s: master process", basename(name));
		char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]);
		size_t room = (size_t)(end - start), n = strlen(title);
		memset(start, 0, room);
		memcpy(start, title, n < room ? n : room);
	}
	for (;;)
		pause();
}
