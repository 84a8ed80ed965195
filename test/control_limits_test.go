//go:build linux

package test

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"respawn/control"
)

// Malformed requests are answered with bad_request and the connection
// carries on; a line over 64 KiB is answered too_long and closed. None of
// it disturbs the supervisor.
func TestControlMalformed(t *testing.T) {
	s, sock := startCtl(t, "{", "@web", selfBin, "helper", "sleep", "}")
	c := dialRaw(t, sock)
	for _, tt := range []struct{ name, line string }{
		{"not json", "list"},
		{"empty line", ""},
		{"binary", "\x00\xff\xfe{"},
		{"unknown command", `{"cmd":"fly"}`},
		{"unknown field", `{"cmd":"list","x":1}`},
		{"missing target", `{"cmd":"status"}`},
		{"bad signal", `{"cmd":"signal","target":"web","signal":"NOPE"}`},
		{"two objects", `{"cmd":"list"}{"cmd":"list"}`},
		{"array", `[{"cmd":"list"}]`},
	} {
		wantErr(t, tt.name, c.ask(tt.line), control.CodeBadRequest)
	}
	if ans := c.ask(`{"cmd":"status","target":"web"}`); !ans.OK || ans.Status.Name != "web" {
		t.Fatalf("status after bad requests: %+v", ans)
	}

	// Exactly the limit is read (and is bad JSON); one byte more is not.
	wantErr(t, "64 KiB", c.ask(strings.Repeat(" ", control.MaxRequest-len(`{"cmd":"list"}`))+`{"cmd":"fly"}`), control.CodeBadRequest)
	big := dialRaw(t, sock)
	go func() { // the server may close before it is all written
		_, _ = big.c.Write([]byte(`{"cmd":"list","target":"` + strings.Repeat("a", 1<<20) + "\"}\n"))
	}()
	wantErr(t, "1 MiB request", big.answer(), control.CodeTooLong)
	big.closed()

	if m := list(t, sock); m["web"].State != "ALIVE" || m["control"].State != "ALIVE" || m["control"].Restarts != 0 {
		t.Errorf("after bad requests: %+v", m)
	}
	s.stop()
}

// A client that connects and says nothing, or stops in the middle of a
// line, is answered timeout and closed; the others are served meanwhile.
func TestControlSilentClient(t *testing.T) {
	t.Setenv("RESPAWN_CONTROL_TIMEOUT", "300ms")
	s, sock := startCtl(t, "{", "@web", selfBin, "helper", "sleep", "}")
	silent := dialRaw(t, sock)
	partial := dialRaw(t, sock)
	partial.send(`{"cmd":"li`)
	ctlOK(t, sock, "list")
	for _, c := range []*raw{silent, partial} {
		wantErr(t, "silent client", c.answer(), control.CodeTimeout)
		c.closed()
	}
	// Between requests on one connection, the same.
	c := dialRaw(t, sock)
	if ans := c.ask(`{"cmd":"list"}`); !ans.OK {
		t.Fatalf("list: %+v", ans)
	}
	wantErr(t, "idle client", c.answer(), control.CodeTimeout)
	c.closed()
	s.stop()
}

// 64 clients are served at once; the next one waits a moment and is
// answered busy; once a slot frees, clients are served again.
func TestControlBusy(t *testing.T) {
	t.Setenv("RESPAWN_CONTROL_TIMEOUT", "1m")
	s, sock := startCtl(t, "{", "@web", selfBin, "helper", "sleep", "}")
	var held []*raw
	for range control.DefaultMaxClients {
		c := dialRaw(t, sock)
		if ans := c.ask(`{"cmd":"status","target":"web"}`); !ans.OK { // served: holds a slot
			t.Fatalf("client %d: %+v", len(held)+1, ans)
		}
		held = append(held, c)
	}
	over := dialRaw(t, sock)
	wantErr(t, "client over the limit", over.answer(), control.CodeBusy)
	over.closed()
	ans, code := ctlJSON(t, sock, "list") // turned away at once: saturated
	if code != 1 {
		t.Errorf("list while saturated: exit %d", code)
	}
	wantErr(t, "respawnctl while saturated", ans, control.CodeBusy)

	held[0].c.Close()
	eventually(t, "a client served again", func() bool {
		out, _, code := ctl(t, sock, "--json", "list")
		return code == 0 && strings.HasPrefix(out, `{"ok":true`)
	})
	for _, c := range held[1:] {
		c.c.Close()
	}
	s.stop()
}

// 200 clients call list at once, at least three times each and until a
// dozen crashes happened meanwhile, while servers crash and come back all
// the time: every one is answered with the whole list.
func TestControlManyClients(t *testing.T) {
	args := []string{"--interval=1ms"}
	for range 4 {
		args = append(args, "{", selfBin, "helper", "exit", "3", "5ms", "}")
	}
	args = append(args, "{", "@steady", selfBin, "helper", "sleep", "}")
	s, sock := startCtl(t, args...)
	s.waitLog(3, msg("DEAD", "server", 1))

	const clients, rounds = 200, 3
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	start := make(chan struct{})
	before := s.count(msg("DEAD"))
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := 0; r < rounds || s.count(msg("DEAD")) < before+12 && r < 1000; r++ {
				if why := listOnce(sock, 6); why != "" {
					mu.Lock()
					bad = append(bad, why)
					mu.Unlock()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d lists failed, first: %s", len(bad), bad[0])
	}
	if n := s.count(msg("DEAD")) - before; n < 12 {
		t.Errorf("only %d crashes while the clients ran", n)
	}
	if m := list(t, sock); m["control"].Restarts != 0 || m["steady"].State != "ALIVE" {
		t.Errorf("after the clients: %+v", m)
	}
	s.stop()
}

// listOnce asks for the list on a new connection and wants that many
// records; it returns what was wrong, or "". It may run on any goroutine.
func listOnce(sock string, records int) string {
	c, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte(`{"cmd":"list"}` + "\n")); err != nil {
		return "write: " + err.Error()
	}
	b, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return "read: " + err.Error()
	}
	if !strings.HasPrefix(string(b), `{"ok":true,"list":[`) || strings.Count(string(b), `"state":`) != records {
		return "answer: " + string(b)
	}
	return ""
}
