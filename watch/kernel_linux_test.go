//go:build linux

package watch

import (
	"context"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Tests of what the code assumes of the kernel.

// TestIntegrationMaskedAnswer: the kernel's answer to the 8-byte listen
// never reaches the socket that sent it (an answer is an event of type
// NONE, which no mask holds), but reaches a socket of the group that
// never listened. This is why Open waits for it on a second socket.
func TestIntegrationMaskedAnswer(t *testing.T) {
	c, err := open(Options{NoFilter: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	probe, err := open(Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.s.Close()
	if err := c.send(listenMsg(mcastListen, 0, false, 100)); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.await(100); !ok || err != nil {
		t.Fatalf("no answer to the 4-byte listen on its socket: %v", err)
	}
	if err := c.send(listenMsg(mcastListen, procEventExec|procEventExit, true, 200)); err != nil {
		t.Fatal(err)
	}
	if ok, err := probe.await(200); !ok || err != nil {
		t.Fatalf("no answer to the 8-byte listen on the second socket: %v", err)
	}
	if ok, _ := c.await(200); ok {
		t.Error("the answer to the 8-byte listen reached its own socket: Open could wait for it there")
	}
}

// TestIntegrationForgedDatagram: a root process can send a datagram to
// our socket's port, and the filter passes it if it looks like a watched
// exit; Receive skips it because it is not from the kernel (port 0).
func TestIntegrationForgedDatagram(t *testing.T) {
	c := openConn(t, Options{})
	target := child(t, "sleep", "60")
	pid := target.Process.Pid
	if err := c.SetWatched([]int{pid}); err != nil {
		t.Fatal(err)
	}
	sa, err := c.s.Getsockname()
	if err != nil {
		t.Fatal(err)
	}
	forger, err := open(Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer forger.s.Close()
	forged := datagram(procEventExit, uint32(pid), uint32(pid), 0x4200, 17)
	to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: sa.(*unix.SockaddrNetlink).Pid}
	if _, err := forger.s.Sendmsg(context.Background(), forged, nil, to, 0); err != nil {
		t.Fatalf("forging: %v", err)
	}
	r := startReader(t, c)
	target.Process.Kill()
	target.Wait()
	if e, _ := r.waitExit(t, pid); e.ExitCode != uint32(syscall.SIGKILL) {
		t.Errorf("exit code %#x: the forged datagram was taken for the kernel's", e.ExitCode)
	}
}
