// Package respawn is the supervisor: it starts servers (child processes) and
// internal tasks (goroutines), restarts the ones that die abnormally, buries
// the ones that die too fast, and reports what it holds.
//
// Every server and task moves through one state machine:
//
//	UNBORN --start--> ALIVE
//	ALIVE --exit 0, or killed by SIGTERM/SIGINT--> CREMATED (never again)
//	ALIVE --abnormal death, lived >= interval and >= 1 s--> DEAD --respawn at once--> ALIVE
//	ALIVE --abnormal death, lived >= interval but < 1 s--> DEAD --respawn after a delay--> ALIVE
//	ALIVE --abnormal death, lived < interval, a retry left--> DEAD --retry after a backoff--> ALIVE
//	ALIVE --abnormal death, lived < interval, no retry left--> BURIED
//	BURIED --revive (SIGUSR2, or an operator)--> ALIVE, with a fresh count of retries
//	DEAD --an operator's start--> ALIVE, without waiting for the delay
//	ALIVE --an operator's stop: its death, whatever it was--> CREMATED, until an operator's start
//	ALIVE --an operator's restart: its death, whatever it was--> DEAD --at once--> ALIVE
//	UNBORN, DEAD, BURIED --an operator's stop--> CREMATED, until an operator's start
//	spawn failure (exec error) --> BURIED, with the error
//	spawn failure (fork refused: EAGAIN, ENOMEM) --> DEAD --respawn after a delay--> ALIVE
//
// The delay paces a server that keeps dying soon after its start (see
// pace.go), and the backoff spaces the retries of one that dies sooner
// than the interval (the restart policy, retry.go): the (DEAD, respawn)
// cell then fires from the loop's one respawn timer instead of at once.
//
// A task whose function returns an error or panics died abnormally; one that
// returns nil is cremated. The transitions are the table in states.go.
//
// One goroutine, the event loop of Run, owns every record. Signals, task
// completions and requests reach it over channels; nothing else touches the
// records and there are no locks around them. Only the event loop creates
// processes and only its reaper (wait4(-1, WNOHANG) after each SIGCHLD,
// at most reapBatch per turn of the loop) collects them.
package respawn
