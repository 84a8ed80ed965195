package watch

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The proc connector's wire format (linux/connector.h, linux/cn_proc.h).
// The kernel writes every field in host byte order.
const (
	cnIdxProc = 1 // CN_IDX_PROC: the connector's proc events channel, and its multicast group
	cnValProc = 1 // CN_VAL_PROC

	mcastListen = 1 // PROC_CN_MCAST_LISTEN
	mcastIgnore = 2 // PROC_CN_MCAST_IGNORE
)

// The proc_event.what values (enum proc_cn_event).
const (
	procEventNone     = 0x00000000
	procEventFork     = 0x00000001
	procEventExec     = 0x00000002
	procEventUID      = 0x00000004
	procEventGID      = 0x00000040
	procEventSID      = 0x00000080
	procEventPtrace   = 0x00000100
	procEventComm     = 0x00000200
	procEventNonzero  = 0x20000000 // PROC_EVENT_NONZERO_EXIT: a listen mask bit only
	procEventCoredump = 0x40000000
	procEventExit     = 0x80000000
)

// Offsets and sizes in one datagram: nlmsghdr, then cn_msg, then
// proc_event {what u32, cpu u32, timestamp_ns u64, union event_data}.
const (
	nlHdrLen = 16 // struct nlmsghdr
	cnHdrLen = 20 // struct cn_msg without data
	evHdrLen = 16 // what, cpu, timestamp_ns

	offCnIdx = nlHdrLen      // cn_msg.id.idx
	offCnVal = nlHdrLen + 4  // cn_msg.id.val
	offWhat  = nlHdrLen + 20 // proc_event.what
	offData  = offWhat + 16  // proc_event.event_data
	offPid   = offData       // exec/exit: process_pid
	offTgid  = offData + 4   // exec/exit: process_tgid

	ackLen  = 4  // event_data.ack: err
	execLen = 8  // event_data.exec: process_pid, process_tgid
	exitLen = 24 // event_data.exit: pid, tgid, exit_code, exit_signal, parent_pid, parent_tgid

	nlmsgDone = 3 // NLMSG_DONE: the type the connector sends and expects
)

var (
	errShort    = errors.New("watch: parse: datagram shorter than a netlink header")
	errNlLen    = errors.New("watch: parse: netlink message length out of bounds")
	errCnLen    = errors.New("watch: parse: connector message length out of bounds")
	errEventLen = errors.New("watch: parse: proc event shorter than its kind")
)

var ne = binary.NativeEndian

// Parse decodes one datagram read from the proc connector socket (one or
// more netlink messages, each a cn_msg holding a proc_event) and appends
// the events it holds to dst. Messages of other kinds, and proc events
// this package does not use (fork, uid, ...), are skipped. Every length
// is checked against what was read: a malformed datagram is an error,
// never a panic or a read out of bounds.
func Parse(dst []Event, b []byte) ([]Event, error) {
	for len(b) > 0 {
		msg, rest, err := nextMessage(b)
		if err != nil {
			return dst, err
		}
		if dst, err = parseMessage(dst, msg); err != nil {
			return dst, err
		}
		b = rest
	}
	return dst, nil
}

// nextMessage splits the first netlink message (header and payload, not
// its padding) off b.
func nextMessage(b []byte) (msg, rest []byte, err error) {
	if len(b) < nlHdrLen {
		return nil, nil, errShort
	}
	n := int(ne.Uint32(b))
	if n < nlHdrLen || n > len(b) {
		return nil, nil, fmt.Errorf("%w: %d of %d bytes", errNlLen, n, len(b))
	}
	next := min(len(b), (n+3)&^3)
	return b[:n], b[next:], nil
}

// parseMessage appends the event one netlink message holds, if it is a
// proc event of a kind this package uses.
func parseMessage(dst []Event, msg []byte) ([]Event, error) {
	if ne.Uint16(msg[4:]) != nlmsgDone || len(msg) < nlHdrLen+cnHdrLen {
		return dst, nil
	}
	cn := msg[nlHdrLen:]
	if ne.Uint32(cn) != cnIdxProc || ne.Uint32(cn[4:]) != cnValProc {
		return dst, nil
	}
	n := int(ne.Uint16(cn[16:]))
	if n > len(cn)-cnHdrLen {
		return dst, fmt.Errorf("%w: %d bytes in %d", errCnLen, n, len(cn)-cnHdrLen)
	}
	answers := ne.Uint32(cn[12:]) - 1 // an ack's cn_msg.ack is the request's plus one
	return parseEvent(dst, cn[cnHdrLen:cnHdrLen+n], answers)
}

// parseEvent appends the proc_event in b (exactly cn_msg.len bytes) if it
// is an acknowledgement, an exec or an exit.
func parseEvent(dst []Event, b []byte, answers uint32) ([]Event, error) {
	if len(b) < evHdrLen {
		return dst, fmt.Errorf("%w: %d bytes", errEventLen, len(b))
	}
	what := ne.Uint32(b)
	size := unionLen(what)
	if size == 0 {
		return dst, nil
	}
	d := b[evHdrLen:]
	if len(d) < size {
		return dst, fmt.Errorf("%w: event %#x has %d bytes of %d", errEventLen, what, len(d), size)
	}
	e := Event{TimeNs: ne.Uint64(b[8:])}
	switch what {
	case procEventNone:
		e.Kind, e.Err, e.Seq = KindNone, ne.Uint32(d), answers
	case procEventExec:
		e.Kind, e.Pid, e.Tgid = KindExec, pid32(d), pid32(d[4:])
	case procEventExit:
		e.Kind, e.Pid, e.Tgid = KindExit, pid32(d), pid32(d[4:])
		e.ExitCode, e.ExitSignal = ne.Uint32(d[8:]), ne.Uint32(d[12:])
	}
	return append(dst, e), nil
}

// unionLen is the size of the event_data of the kinds this package uses,
// 0 for the others.
func unionLen(what uint32) int {
	switch what {
	case procEventNone:
		return ackLen
	case procEventExec:
		return execLen
	case procEventExit:
		return exitLen
	}
	return 0
}

// pid32 reads a __kernel_pid_t (a signed 32-bit int).
func pid32(b []byte) int { return int(int32(ne.Uint32(b))) }

// listenMsg is the datagram that asks the kernel for proc events (op
// mcastListen) or stops them (mcastIgnore). With a mask it is the 8-byte
// proc_input {mcast_op, event_type} that kernels since 6.6 filter by;
// without, the 4-byte op every kernel takes. The kernel's answer carries
// seq+1 in cn_msg.ack (its cn_msg.seq is its own counter).
func listenMsg(op, mask uint32, masked bool, seq uint32) []byte {
	data := 4
	if masked {
		data = 8
	}
	n := nlHdrLen + cnHdrLen + data
	b := make([]byte, n)
	ne.PutUint32(b, uint32(n))
	ne.PutUint16(b[4:], nlmsgDone)
	ne.PutUint32(b[8:], seq)
	cn := b[nlHdrLen:]
	ne.PutUint32(cn, cnIdxProc)
	ne.PutUint32(cn[4:], cnValProc)
	ne.PutUint32(cn[8:], seq)
	ne.PutUint32(cn[12:], seq)
	ne.PutUint16(cn[16:], uint16(data))
	ne.PutUint32(cn[cnHdrLen:], op)
	if masked {
		ne.PutUint32(cn[cnHdrLen+4:], mask)
	}
	return b
}
