package control

import (
	"encoding/json"
	"syscall"
	"testing"

	"respawn/respawn"
)

// The events stream and the answers carry a watched process's events and
// the watch task's lists in these shapes (PROTOCOL.md).
func TestWatchJSON(t *testing.T) {
	n, a, r := 2, 1, 3
	tests := []struct {
		name string
		v    any
		want string
	}{
		{name: "exit event", v: eventOf(respawn.Transition{Seq: 7, Name: "sleep", Pid: 4242, TimeNs: 1e9,
			Exit: respawn.Exit{Signal: syscall.SIGKILL, Set: true}, Watch: "exit", Rule: "exe:/usr/bin/*"}),
			want: `{"seq":7,"name":"sleep","pid":4242,"exit":"signal SIGKILL","time":"1970-01-01T00:00:01Z","watch":"exit","rule":"exe:/usr/bin/*"}`},
		{name: "restart event", v: eventOf(respawn.Transition{Seq: 47, Index: 3, Name: "sleep", Pid: 4100, Watch: "restart", Rule: "exe:/usr/bin/*"}),
			want: `{"seq":47,"index":3,"name":"sleep","pid":4100,"time":"1970-01-01T00:00:00Z","watch":"restart","rule":"exe:/usr/bin/*"}`},
		{name: "lost event", v: eventOf(respawn.Transition{Seq: 8, Name: "watch", Task: true, Watch: "lost", Lost: 12}),
			want: `{"seq":8,"name":"watch","task":true,"pid":0,"time":"1970-01-01T00:00:00Z","watch":"lost","missed":12}`},
		{name: "transition unchanged", v: eventOf(respawn.Transition{Seq: 9, Index: 1, Name: "web", From: respawn.Alive, To: respawn.Dead, Pid: 5}),
			want: `{"seq":9,"index":1,"name":"web","from":"ALIVE","to":"DEAD","pid":5,"time":"1970-01-01T00:00:00Z"}`},
		{name: "watch answer", v: Answer{OK: true, Picked: &n}, want: `{"ok":true,"picked":2}`},
		{name: "unwatch answer", v: Answer{OK: true, Unwatched: &n}, want: `{"ok":true,"unwatched":2}`},
		{name: "watch-reload answer", v: Answer{OK: true, Added: &a, Removed: &r}, want: `{"ok":true,"added":1,"removed":3}`},
		{name: "watched answer, nothing watched", v: Answer{OK: true, Watching: &Watching{Rules: []string{}, Watched: []respawn.WatchedInfo{}}},
			want: `{"ok":true,"watching":{"rules":[],"watched":[]}}`},
		{name: "watched answer", v: Answer{OK: true, Watching: &Watching{Rules: []string{"name:redis-server (restart)"},
			Watched: []respawn.WatchedInfo{{Pid: 77, Name: "redis-server", Rule: "name:redis-server (restart)", Action: "restart",
				Exe: "/usr/bin/redis-server", Argv: []string{"redis-server", "*:6379"}, Cwd: "/", Missing: []string{"environ: permission denied"}, Since: "2026-11-29T20:00:00Z"}}}},
			want: `{"ok":true,"watching":{"rules":["name:redis-server (restart)"],"watched":[{"pid":77,"name":"redis-server","rule":"name:redis-server (restart)","action":"restart","exe":"/usr/bin/redis-server","argv":["redis-server","*:6379"],"cwd":"/","uid":0,"gid":0,"missing":["environ: permission denied"],"since":"2026-11-29T20:00:00Z"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil || string(b) != tt.want {
				t.Fatalf("got %s, %v\nwant %s", b, err, tt.want)
			}
		})
	}
}

// A stream line of a watched process's lost events is not the resume's
// "lost" line: the client tells them apart.
func TestWatchLostIsNotResumeLost(t *testing.T) {
	var l StreamLine
	if err := json.Unmarshal(encode(eventOf(respawn.Transition{Seq: 8, Watch: "lost", Lost: 12})), &l); err != nil {
		t.Fatal(err)
	}
	if l.Lost != 0 || l.Missed != 12 || l.Watch != "lost" {
		t.Fatalf("%+v", l)
	}
}
