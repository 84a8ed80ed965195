package watch

import (
	"errors"
	"testing"
)

// datagram lays out one proc event as the kernel sends it: nlmsghdr,
// cn_msg (len 40: sizeof(struct proc_event)), proc_event with what, cpu,
// timestamp and the union's u32 words in data.
func datagram(what uint32, data ...uint32) []byte {
	const evLen = 40
	b := make([]byte, nlHdrLen+cnHdrLen+evLen)
	ne.PutUint32(b, uint32(len(b)))
	ne.PutUint16(b[4:], nlmsgDone)
	cn := b[nlHdrLen:]
	ne.PutUint32(cn, cnIdxProc)
	ne.PutUint32(cn[4:], cnValProc)
	ne.PutUint32(cn[12:], 8) // cn_msg.ack: an answer to request 7
	ne.PutUint16(cn[16:], evLen)
	ev := cn[cnHdrLen:]
	ne.PutUint32(ev, what)
	ne.PutUint64(ev[8:], 12345)
	for i, v := range data {
		ne.PutUint32(ev[evHdrLen+4*i:], v)
	}
	return b
}

// edit returns a copy of b with f applied.
func edit(b []byte, f func(b []byte)) []byte {
	b = append([]byte(nil), b...)
	f(b)
	return b
}

func TestParse(t *testing.T) {
	exit := datagram(procEventExit, 42, 42, 3<<8, 17, 1, 1)
	tests := []struct {
		name string
		b    []byte
		want []Event
		err  error
	}{
		{"exec", datagram(procEventExec, 42, 42), []Event{{Kind: KindExec, Pid: 42, Tgid: 42, TimeNs: 12345}}, nil},
		{"exit", exit, []Event{{Kind: KindExit, Pid: 42, Tgid: 42, ExitCode: 3 << 8, ExitSignal: 17, TimeNs: 12345}}, nil},
		{"thread exit", datagram(procEventExit, 43, 42, 9, 0xffffffff), []Event{{Kind: KindExit, Pid: 43, Tgid: 42, ExitCode: 9, ExitSignal: 0xffffffff, TimeNs: 12345}}, nil},
		{"answer", datagram(procEventNone, 1), []Event{{Kind: KindNone, Err: 1, Seq: 7, TimeNs: 12345}}, nil},
		{"fork skipped", datagram(procEventFork, 1, 1, 2, 2), nil, nil},
		{"comm skipped", datagram(procEventComm, 1, 1, 0x41414141), nil, nil},
		{"two messages", append(datagram(procEventExec, 5, 5), exit...), []Event{
			{Kind: KindExec, Pid: 5, Tgid: 5, TimeNs: 12345},
			{Kind: KindExit, Pid: 42, Tgid: 42, ExitCode: 3 << 8, ExitSignal: 17, TimeNs: 12345}}, nil},
		{"unaligned length, then padding", append(edit(datagram(procEventExec, 5, 5), func(b []byte) {
			ne.PutUint32(b, uint32(len(b)-2))
			ne.PutUint16(b[nlHdrLen+16:], 38)
		}), exit...), []Event{
			{Kind: KindExec, Pid: 5, Tgid: 5, TimeNs: 12345},
			{Kind: KindExit, Pid: 42, Tgid: 42, ExitCode: 3 << 8, ExitSignal: 17, TimeNs: 12345}}, nil},
		{"bytes after the last message", append(exit, 0, 0, 0), []Event{
			{Kind: KindExit, Pid: 42, Tgid: 42, ExitCode: 3 << 8, ExitSignal: 17, TimeNs: 12345}}, errShort},
		{"another connector", edit(exit, func(b []byte) { ne.PutUint32(b[offCnIdx:], 2) }), nil, nil},
		{"another message type", edit(exit, func(b []byte) { ne.PutUint16(b[4:], 1) }), nil, nil},
		{"empty", nil, nil, nil},
		{"short header", exit[:10], nil, errShort},
		{"netlink length past the end", exit[:60], nil, errNlLen},
		{"netlink length under a header", edit(exit, func(b []byte) { ne.PutUint32(b, 4) }), nil, errNlLen},
		{"netlink header only", edit(exit[:16], func(b []byte) { ne.PutUint32(b, 16) }), nil, nil},
		{"connector length past the end", edit(exit, func(b []byte) { ne.PutUint16(b[nlHdrLen+16:], 41) }), nil, errCnLen},
		{"exit shorter than its union", edit(exit, func(b []byte) { ne.PutUint16(b[nlHdrLen+16:], 16+20) }), nil, errEventLen},
		{"event shorter than its header", edit(exit, func(b []byte) { ne.PutUint16(b[nlHdrLen+16:], 8) }), nil, errEventLen},
		{"listen request", listenMsg(mcastListen, procEventExec, true, 1), nil, errEventLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(nil, tt.b)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("events %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestListenMsg: the request the kernel's cn_proc_mcast_ctl reads: the
// operation and mask after a cn_msg whose len says which form it is.
func TestListenMsg(t *testing.T) {
	tests := []struct {
		name   string
		masked bool
		size   int
	}{
		{"4-byte", false, 40},
		{"8-byte", true, 44},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := listenMsg(mcastListen, procEventExec|procEventExit, tt.masked, 9)
			if len(b) != tt.size || int(ne.Uint32(b)) != tt.size || int(ne.Uint16(b[nlHdrLen+16:])) != tt.size-nlHdrLen-cnHdrLen {
				t.Fatalf("lengths of % x", b)
			}
			if ne.Uint32(b[nlHdrLen+cnHdrLen:]) != mcastListen || ne.Uint32(b[nlHdrLen+12:]) != 9 {
				t.Errorf("op or ack of % x", b)
			}
			if tt.masked && ne.Uint32(b[nlHdrLen+cnHdrLen+4:]) != procEventExec|procEventExit {
				t.Errorf("mask of % x", b)
			}
		})
	}
}

// FuzzParse checks that Parse never panics or reads out of bounds, keeps
// what dst held, and finds no more events than the bytes can hold. The
// seed corpus (testdata/fuzz/FuzzParse) is datagrams the kernel sent;
// TestSeedCorpus captures them again.
func FuzzParse(f *testing.F) {
	exit := datagram(procEventExit, 42, 42, 3<<8, 17, 1, 1)
	f.Add(exit)
	f.Add(append(datagram(procEventExec, 5, 5), exit...))
	f.Add(listenMsg(mcastListen, procEventExec, true, 1))
	f.Add(edit(exit, func(b []byte) { ne.PutUint16(b[nlHdrLen+16:], 0xffff) }))
	f.Fuzz(func(t *testing.T, b []byte) {
		prefix := []Event{{Kind: KindLost, Lost: 7}}
		got, err := Parse(prefix, b)
		if len(got) == 0 || got[0] != prefix[0] {
			t.Fatalf("dst's events lost: %+v", got)
		}
		if n := len(got) - 1; n > len(b)/(nlHdrLen+cnHdrLen+evHdrLen+ackLen) {
			t.Fatalf("%d events from %d bytes", n, len(b))
		}
		if err == nil {
			again, _ := Parse(nil, b)
			if len(again) != len(got)-1 {
				t.Fatalf("two parses of the same bytes differ")
			}
		}
	})
}
