package watch

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/net/bpf"
)

// MaxFilterPids is the most watched pids the BPF program lists one by
// one; with more, it keeps the EXIT of every task.
const MaxFilterPids = 1024

// The filter's verdicts: the whole datagram, or nothing.
var (
	keep = bpf.RetConstant{Val: 0xffffffff}
	drop = bpf.RetConstant{Val: 0}
)

// Filter assembles the classic BPF program attached to the socket: it
// keeps the acknowledgement (PROC_EVENT_NONE), the EXEC of thread-group
// leaders (pid == tgid), and the EXIT of every thread of the processes
// (thread groups) in watched: a leader may end before its threads
// (pthread_exit in main) and the process then ends with its last thread.
// It drops everything else (a fork storm never wakes us). Loads in
// classic BPF are big-endian and the kernel writes host order: the
// constants are swapped to match.
//
// Every jump skips at most two instructions (classic BPF offsets are 8
// bits): each watched pid is a compare followed by its own return.
func Filter(watched []int) ([]bpf.RawInstruction, error) { return filter(watched, true) }

// FilterPids is Filter keeping the exec of the watched pids only: when
// every rule is a pid rule, no other process's exec can matter, and an
// exec storm elsewhere on the machine does not wake respawn either.
func FilterPids(watched []int) ([]bpf.RawInstruction, error) { return filter(watched, false) }

// ExitFilter is the program of a wake-up socket for process accounting
// (Options.Exits): it keeps the acknowledgement and the EXIT of every
// thread-group leader (pid == tgid), whatever its pid, and drops the rest:
// a thread's end, forks, execs.
func ExitFilter() ([]bpf.RawInstruction, error) {
	raw, err := bpf.Assemble(append(connectorHead(),
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: be(procEventExit), SkipTrue: 1},
		drop,
		bpf.LoadAbsolute{Off: offTgid, Size: 4},
		bpf.TAX{},
		bpf.LoadAbsolute{Off: offPid, Size: 4},
		bpf.JumpIfX{Cond: bpf.JumpEqual, SkipFalse: 1},
		keep,
		drop, // a thread's exit
	))
	if err != nil {
		return nil, fmt.Errorf("watch: filter: %w", err)
	}
	return raw, nil
}

func filter(watched []int, execs bool) ([]bpf.RawInstruction, error) {
	for _, p := range watched {
		if p <= 0 || p > 1<<31-1 {
			return nil, fmt.Errorf("watch: filter: pid %d out of range", p)
		}
	}
	prog := filterHead(execs)
	if len(watched) > MaxFilterPids {
		prog = append(prog, keep)
	} else {
		prog = append(prog, pidList(watched)...)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("watch: filter: %w", err)
	}
	return raw, nil
}

// filterHead checks the connector id, keeps acknowledgements, drops what
// is neither an exec nor an exit, keeps the exec of a thread-group leader
// and drops a thread's, and leaves the tgid of an exit in A for the list
// that follows.
func filterHead(execs bool) []bpf.Instruction {
	var leaderExec bpf.Instruction = keep
	if !execs {
		leaderExec = bpf.Jump{Skip: 1} // its pid in A: to the list
	}
	return append(connectorHead(),
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: be(procEventExit), SkipTrue: 1},
		bpf.Jump{Skip: 2}, // not an exit: to the exec's checks
		bpf.LoadAbsolute{Off: offTgid, Size: 4},
		bpf.Jump{Skip: 8}, // an exit, its tgid in A: to the list
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: be(procEventExec), SkipTrue: 1},
		drop,
		bpf.LoadAbsolute{Off: offTgid, Size: 4},
		bpf.TAX{},
		bpf.LoadAbsolute{Off: offPid, Size: 4},
		bpf.JumpIfX{Cond: bpf.JumpEqual, SkipFalse: 1},
		leaderExec,
		drop, // the exec of a thread
	)
}

// connectorHead drops what is not the proc connector's, keeps an
// acknowledgement (PROC_EVENT_NONE) and leaves the event's type in A.
func connectorHead() []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: offCnIdx, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: be(cnIdxProc), SkipTrue: 1},
		drop,
		bpf.LoadAbsolute{Off: offCnVal, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: be(cnValProc), SkipTrue: 1},
		drop,
		bpf.LoadAbsolute{Off: offWhat, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: be(procEventNone), SkipFalse: 1},
		keep,
	}
}

// pidList keeps an exit whose tgid (in A) is one of pids, and drops the
// others.
func pidList(pids []int) []bpf.Instruction {
	prog := make([]bpf.Instruction, 0, 2*len(pids)+1)
	for _, p := range pids {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: be(uint32(p)), SkipFalse: 1}, keep)
	}
	return append(prog, drop)
}

// be is v as a classic BPF load sees the bytes the kernel wrote for it
// in host order: loads are big-endian.
func be(v uint32) uint32 {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	return binary.BigEndian.Uint32(b[:])
}
