package watch

// Kind is what happened to a process.
type Kind uint8

const (
	KindNone Kind = iota // the connector's acknowledgement (PROC_EVENT_NONE)
	KindExec             // a thread-group leader called execve
	KindExit             // a task ended
	KindLost             // events were lost (a full ring, or the socket overran)
)

// Event is one proc connector event, decoded.
type Event struct {
	Kind Kind
	Pid  int // process_pid: the task (a thread id for a thread)
	Tgid int // process_tgid: the thread group (process) id

	// For KindExit: ExitCode is a wait status (code<<8 | core 0x80 |
	// signal); ExitSignal is the signal the task's parent is sent
	// (SIGCHLD), not the one that killed it.
	ExitCode   uint32
	ExitSignal uint32

	TimeNs uint64 // the kernel's CLOCK_MONOTONIC of the event, ns

	// For KindNone: the acknowledgement's error (0: the listen took) and
	// the sequence number it answers.
	Err, Seq uint32

	// For KindLost: how many events (0: an unknown number, the socket
	// overran).
	Lost uint64
}
