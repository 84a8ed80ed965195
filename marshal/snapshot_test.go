package marshal

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// samples are realistic snapshots: the fuzz seed corpus is made of them.
var samples = []struct {
	name string
	s    *Snapshot
}{
	{"empty", &Snapshot{
		Version: Version, StartedNs: 1767225600000000000,
		Flags: Flags{IntervalNs: 5e9, StopTimeoutNs: 10e9, Linger: true, LogFormat: "text", LogLevel: "info", Control: "none"},
	}},
	{"servers", &Snapshot{
		Version: Version, StartedNs: 1767225600000000000,
		Flags: defaultFlags(),
		Records: []Record{
			alive(1, "web", 4242, "/usr/sbin/httpd", "-f", "--respawn"),
			alive(2, "db", 4243, "/usr/bin/postgres", "-D", "/var/lib/pg"),
			alive(3, "cron", 4250, "/usr/sbin/cron", "-f"),
		},
		FDs: []FD{{Role: "control", FD: 5}},
	}},
	{"mixed", &Snapshot{
		Version: Version, Generation: 3,
		LastUpgradeNs: 1767312000123456789, StartedNs: 1767225600000000000,
		Flags: Flags{IntervalNs: 200e6, StopTimeoutNs: 3e9, LeaveRunning: true, LogFormat: "json", LogLevel: "debug", Control: "/run/respawn/control.sock"},
		Records: []Record{
			captured(alive(1, "sshd", 811, "/usr/sbin/sshd", "-D"), 10),
			{Index: 2, Name: "flaky", Argv: []string{"/opt/flaky", "--respawn", ""}, State: stateBuried, Pgid: 900,
				StartNs: 90_000_000_000, StartRTNs: 1767300000000000000, Restarts: 7, Started: true,
				Last: Exit{Set: true, Signal: 11, Core: true, Acct: &Death{Exit: "signal SIGSEGV", Core: true, Signaled: true,
					Flags: "ACORE|AXSIG", UserSec: 1.21, SystemSec: 0.3, ElapsedSec: 3.2, MemKiB: 10240, MinFlt: 1834, Comm: "flaky"}}, Fast: 3},
			{Index: 3, Name: "oneshot", Argv: []string{"/bin/true"}, State: stateCremated, Pgid: 912,
				StartNs: 91_000_000_000, StartRTNs: 1767300001000000000, Started: true, Last: Exit{Set: true}},
			{Index: 4, Name: "missing", Argv: []string{"/no/such/binary", "arg with spaces", "ünïcode"}, State: stateBuried,
				Last: Exit{Set: true, Err: "respawn: cannot execute /no/such/binary: no such file or directory"}},
			{Index: 5, Name: "restarting", Argv: []string{"/usr/bin/worker"}, State: stateDead, Pgid: 930,
				StartNs: 95_000_000_000, Restarts: 2, Started: true, Last: Exit{Set: true, Code: 3}, Stopping: true,
				Fast: 2, DueNs: 95_400_000_000, Out: []int{14, 15}},
			{Index: 6, Name: "procevents", Task: true, State: stateAlive, StartNs: 10_000_000_000, StartRTNs: 1767225600100000000, Started: true},
			{Index: 7, Name: "acct", Task: true, State: stateBuried, Restarts: 1, Started: true,
				Last: Exit{Set: true, Err: "acct: acct(2): operation not permitted"}},
			{Index: 8, Name: "watchdog", Task: true, State: stateUnborn},
		},
		FDs:           []FD{{Role: "control", FD: 5}, {Role: "proc", FD: 6}, {Role: "watchdog", FD: 7}, {Role: "acct", FD: 8}, {Role: "acct-shadow", FD: 9}},
		DroppedEvents: 17,
	}},
	{"upgraded", &Snapshot{
		Version: Version, Generation: 12, LastUpgradeNs: 1767400000000000000, StartedNs: 1767225600000000000,
		Flags: defaultFlags(),
		Records: []Record{
			alive(1, "a", 2, "/bin/sleep", "infinity"),
			alive(2, "b", MaxPid, "/bin/sleep", "infinity"),
			{Index: 3, Name: "heartbeat", Task: true, State: stateCremated, Started: true, Last: Exit{Set: true}},
		},
		FDs:  []FD{{Role: "control", FD: MaxFD}, {Role: "proc", FD: MinFD}},
		Logs: []byte("{\"msg\":\"upgrading\"}\n"), LogsDropped: 2,
	}},
	{"events", &Snapshot{
		Version: Version, Generation: 2, LastUpgradeNs: 1767400000000000000, StartedNs: 1767225600000000000,
		Flags: defaultFlags(),
		Records: []Record{
			func() Record {
				r := alive(1, "web", 4300, "/usr/sbin/nginx", "-g", "daemon off;")
				r.Stopping, r.Restart = true, true
				r.Notify = &Notify{Ready: true, Status: "serving 3 clients", WatchdogNs: 12_000_000_000, WatchdogTimeoutNs: 5e9, MainPid: true}
				return r
			}(),
			{Index: 2, Name: "control", Task: true, State: stateAlive, StartNs: 10_000_000_000, Started: true},
		},
		FDs:      []FD{{Role: "control", FD: 5}},
		EventSeq: 41,
		Events: []Event{
			{Seq: 39, Index: 1, Name: "web", From: stateAlive, To: stateDead, Pid: 4299, Exit: Exit{Set: true, Signal: 9}, TimeNs: 1767400000000000001},
			{Seq: 40, Index: 1, Name: "web", From: stateDead, To: stateDead, Pid: 4299, Accounted: true, TimeNs: 1767400000000000002,
				Exit: Exit{Set: true, Signal: 9, Acct: &Death{Exit: "signal SIGKILL", Signaled: true, Flags: "AXSIG", Comm: "web"}}},
			{Seq: 41, Index: 2, Name: "control", Task: true, From: stateUnborn, To: stateAlive, TimeNs: 1767400000000000003},
		},
		Systemd: &Systemd{PetNs: 12_500_000_000, Unpetted: true},
	}},
	{"watch", &Snapshot{
		Version: Version, Generation: 1, LastUpgradeNs: 1767400000000000000, StartedNs: 1767225600000000000,
		Flags: defaultFlags(),
		Records: []Record{
			func() Record {
				r := alive(1, "cron", 812, "/usr/sbin/cron", "-f")
				r.Adopted = &Adopted{Rule: "exe:/usr/sbin/*", Exe: "/usr/sbin/cron", Cwd: "/", Env: []string{"PATH=/usr/bin", "LANG=C"},
					EnvSet: true, CredSet: true, UID: 0, GID: 0, Groups: []uint32{}}
				return r
			}(),
			{Index: 2, Name: "watch", Task: true, State: stateAlive, StartNs: 10_000_000_000, Started: true},
		},
		FDs:      []FD{{Role: "watch", FD: 6}, {Role: "acct-source", FD: 7}, {Role: "acct-shadow", FD: 8}},
		EventSeq: 2,
		Events: []Event{
			{Seq: 1, Name: "cron", Pid: 640, Exit: Exit{Set: true, Signal: 9}, TimeNs: 1767400000000000001, Watch: "exit", Rule: "exe:/usr/sbin/*"},
			{Seq: 2, Name: "watch", Task: true, TimeNs: 1767400000000000002, Watch: "lost", Lost: 12},
		},
		Watch: &Watch{
			Rules: []WatchRule{{Rule: "exe:/usr/sbin/*"}, {Rule: "name:redis-server (notify)", File: ""}, {Rule: "exe:/opt/app/bin/*", File: "/etc/armourd.conf"}},
			Procs: []WatchProc{{
				Pid: 2210, StartTime: 81234, Rule: 1, Comm: "redis-server", Exe: "/usr/bin/redis-server", Argv: []string{"redis-server", "*:6379"},
				Cwd: "/var/lib/redis", Env: []string{"HOME=/var/lib/redis"}, UID: 104, GID: 110, Groups: []uint32{110}, Pgid: 2210,
				Missing: []string{"environ: permission denied"}, SeenNs: 1767400000000000000,
			}},
			Overruns:  1,
			Unwatched: []WatchPid{{Pid: 3301, StartTime: 90210}},
		},
		Acct: &Acct{
			Dir: "/run", RecSize: 64, SourceOff: 64 * 1500, Seq: 2, Oldest: 1, ShadowRecs: 512, Busy: true,
			LastRecNs: 1767400000000000000, LastGCNs: 1767399990000000000, Copied: 20512,
		},
		Watchdog: &Watchdog{
			Device: "/dev/watchdog0", TimeoutNs: 30e9, LastPetNs: 912345678901, Petting: true, Pets: 4410,
			MaxLateNs: 3_200_000, Identity: "i6300ESB timer", Options: 0x8180,
		},
	}},
	{"heartbeat", &Snapshot{
		Version: Version, Generation: 1, LastUpgradeNs: 1767400000000000000, StartedNs: 1767225600000000000,
		Flags: defaultFlags(),
		Records: []Record{
			alive(1, "web", 4300, "/usr/sbin/nginx", "-g", "daemon off;"),
			{Index: 2, Name: "heartbeat", Task: true, State: stateAlive, StartNs: 10_000_000_000, Started: true},
		},
		FDs: []FD{{Role: "control", FD: 5}, {Role: "heartbeat-fifo-4300", FD: 6}, {Role: "heartbeat-pidfd-4300", FD: 7},
			{Role: "heartbeat-fifo-4400", FD: 8}, {Role: "heartbeat-pidfd-4400", FD: 9}},
		Heartbeat: &Heartbeat{
			Registrants: []Registrant{
				{Pid: 4300, File: ".phm_4300_aB3xYz", FIFO: "/tmp/heartbeat.4300.aB3xYz", Name: "web", PeriodNs: 100e6, Misses: 2,
					Action: 1, LastNs: 95_000_000_000, Beats: 1200},
				{Pid: 4400, File: ".phm_4400_12345", FIFO: "/run/app/beat", Name: "app.worker-1", PeriodNs: 3600e9, Action: 2,
					LastNs: 94_000_000_000, Fired: true, Beats: 3, Missed: 1},
			},
			Registered: 5, Refused: 2, Beats: 1300, Missed: 1,
		},
	}},
}

func defaultFlags() Flags {
	return Flags{IntervalNs: 5e9, StopTimeoutNs: 10e9, LogFormat: "text", LogLevel: "info", Control: "/run/respawn/control.sock"}
}

func alive(i int, name string, pid int, argv ...string) Record {
	return Record{
		Index: i, Name: name, Argv: argv, State: stateAlive, Pid: pid, Pgid: pid,
		StartNs: int64(i) * 1_000_000_000, StartRTNs: 1767225601000000000 + int64(i), ProcStart: uint64(1000 + i),
		Started: true,
	}
}

// captured gives r the output descriptors fd and fd+1.
func captured(r Record, fd int) Record {
	r.Out = []int{fd, fd + 1}
	return r
}

func sample(t testing.TB, name string) *Snapshot {
	t.Helper()
	for _, s := range samples {
		if s.name == name {
			c := *s.s
			c.Records = append([]Record(nil), c.Records...)
			c.FDs = append([]FD(nil), c.FDs...)
			c.Events = append([]Event(nil), c.Events...)
			return &c
		}
	}
	t.Fatalf("no sample %q", name)
	return nil
}

func mustEncode(t testing.TB, s *Snapshot) []byte {
	t.Helper()
	b, err := Encode(s)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range samples {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(mustEncode(t, tt.s))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.s) {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v", got, tt.s)
			}
		})
	}
}

func TestEncodeWritesCurrentVersion(t *testing.T) {
	s := sample(t, "servers")
	s.Version = 0
	got, err := Decode(mustEncode(t, s))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Version != Version || s.Version != 0 {
		t.Fatalf("decoded version %d, caller's %d; want %d and 0", got.Version, s.Version, Version)
	}
}

// rawMap is the snapshot s as generic msgpack maps, to be edited into what
// another binary could have written.
func rawMap(t testing.TB, s *Snapshot) map[string]any {
	t.Helper()
	var m map[string]any
	if err := msgpack.Unmarshal(mustEncode(t, s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encodeRaw(t testing.TB, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnknownFieldsSkipped(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
	}{
		{"top-level scalar", func(m map[string]any) { m["zz_new"] = 42 }},
		{"top-level nested", func(m map[string]any) {
			m["cgroups"] = map[string]any{"root": "/sys/fs/cgroup/respawn", "ids": []any{1, 2, 3}}
		}},
		{"in records", func(m map[string]any) {
			for _, r := range m["recs"].([]any) {
				r.(map[string]any)["env"] = []any{"PATH=/bin", "HOME=/"}
				r.(map[string]any)["cwd"] = "/srv"
			}
		}},
		{"in exit and flags", func(m map[string]any) {
			m["flags"].(map[string]any)["alarm"] = int64(60e9)
			for _, r := range m["recs"].([]any) {
				r.(map[string]any)["last"].(map[string]any)["rusage"] = map[string]any{"utime": 1.5, "maxrss": 1 << 20}
			}
		}},
		{"binary and ext", func(m map[string]any) {
			m["blob"] = []byte{0, 1, 2, 0xc1}
			m["when"] = msgpack.RawMessage{0xd6, 0xff, 0, 0, 0, 1} // a timestamp extension
		}},
	}
	want := sample(t, "mixed")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rawMap(t, want)
			tt.edit(m)
			got, err := Decode(encodeRaw(t, m))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestMissingFieldsZero stands for a snapshot of an older binary that did
// not yet know some fields: they decode to their zero values.
func TestMissingFieldsZero(t *testing.T) {
	m := rawMap(t, sample(t, "servers"))
	delete(m, "dropped")
	delete(m, "gen")
	for _, r := range m["recs"].([]any) {
		delete(r.(map[string]any), "start_rt")
	}
	got, err := Decode(encodeRaw(t, m))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := sample(t, "servers")
	for i := range want.Records {
		want.Records[i].StartRTNs = 0
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

// TestDecodeRefusesWide feeds Decode values that another binary could
// write and that a narrower field would truncate or wrap into a valid one.
func TestDecodeRefusesWide(t *testing.T) {
	rec := func(i int, key string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["recs"].([]any)[i].(map[string]any)[key] = v }
	}
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"state 257", rec(0, "state", 257), "state 257"},
		{"state 2^64-1", rec(1, "state", uint64(1<<64-1)), "state -1"},
		{"state 2^32+1", rec(1, "state", int64(1<<32+1)), "state 4294967297"},
		{"generation MaxInt64", func(m map[string]any) { m["gen"] = int64(1<<63 - 1) }, "generation 9223372036854775807"},
		{"generation 2^64-1", func(m map[string]any) { m["gen"] = uint64(1<<64 - 1) }, "negative generation"},
		{"restarts MaxInt64", rec(4, "restarts", int64(1<<63-1)), "restarts, over"},
		{"pid 2^32+5", rec(0, "pid", int64(1<<32+5)), "pid 4294967301"},
		{"pgid 2^64-1", rec(0, "pgid", uint64(1<<64-1)), "pgid -1"},
		{"proc start 2^64-1", rec(0, "proc_start", uint64(1<<64-1)), "proc start time"},
		{"proc start absent", func(m map[string]any) { delete(m["recs"].([]any)[0].(map[string]any), "proc_start") }, "no proc start time"},
		{"exit code 2^32", rec(1, "last", map[string]any{"set": true, "code": int64(1 << 32)}), "exit code 4294967296"},
		{"descriptor 2^32+5", func(m map[string]any) { m["fds"].([]any)[0].(map[string]any)["fd"] = int64(1<<32 + 5) }, "4294967301"},
		{"index 2^32+1", rec(0, "i", int64(1<<32+1)), "index 4294967297"},
		{"retries used 2^32+1", rec(4, "fast", int64(1<<32+1)), "retries used 4294967297"},
		{"retries used 2^64-1", rec(1, "fast", uint64(1<<64-1)), "retries used -1"},
		{"restart of a buried server", rec(1, "restart", true), "a restart pending in state 3"},
		{"accounting time NaN", rec(1, "last", map[string]any{"set": true, "acct": map[string]any{"user": math.NaN()}}), "accounting time NaN"},
		{"accounting text 65 bytes", rec(1, "last", map[string]any{"set": true, "acct": map[string]any{"comm": strings.Repeat("x", 65)}}), "accounting text of 65 bytes"},
		{"alive twice", func(m map[string]any) {
			r := m["recs"].([]any)
			r[1].(map[string]any)["pid"], r[1].(map[string]any)["state"] = r[0].(map[string]any)["pid"], 1
			r[1].(map[string]any)["proc_start"] = 5
		}, "repeats record 1's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rawMap(t, sample(t, "mixed"))
			tt.edit(m)
			_, err := Decode(encodeRaw(t, m))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "marshal: ") {
				t.Fatalf("Decode error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestDecodeRefusesEvents feeds Decode carried transitions that are out
// of sequence, too many or out of range.
func TestDecodeRefusesEvents(t *testing.T) {
	ev := func(i int, key string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["events"].([]any)[i].(map[string]any)[key] = v }
	}
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"gap", ev(1, "seq", 38), "number 38, want 40"},
		{"last is not the sequence", func(m map[string]any) { m["event_seq"] = 45 }, "number 39, want 43"},
		{"more than the sequence", func(m map[string]any) { m["event_seq"] = 2 }, "3 events up to number 2"},
		{"sequence over the limit", func(m map[string]any) { m["event_seq"] = uint64(1<<64 - 1) }, "event number"},
		{"state", ev(0, "to", 9), "states 1 to 9"},
		{"pid", ev(0, "pid", -4), "pid -4"},
		{"exit code", ev(0, "exit", map[string]any{"set": true, "code": 300}), "exit code 300"},
		{"too many", func(m map[string]any) {
			evs := make([]any, MaxEvents+1)
			for i := range evs {
				evs[i] = map[string]any{"seq": i + 1}
			}
			m["events"], m["event_seq"] = evs, MaxEvents+1
		}, "over the limit of 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rawMap(t, sample(t, "events"))
			tt.edit(m)
			_, err := Decode(encodeRaw(t, m))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "marshal: ") {
				t.Fatalf("Decode error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		name    string
		version int
		want    bool
	}{
		{"current", Version, true},
		{"oldest", MinVersion, true},
		{"none", 0, false},
		{"negative", -1, false},
		{"newer", Version + 1, false},
		{"much newer", 1 << 40, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanRead(tt.version); got != tt.want {
				t.Fatalf("CanRead(%d) = %v, want %v", tt.version, got, tt.want)
			}
		})
	}
}

func TestDecodeVersion(t *testing.T) {
	tests := []struct {
		name    string
		version any // nil: no version key
		ok      bool
	}{
		{"current", Version, true},
		{"oldest readable", MinVersion, true},
		{"older than readable", MinVersion - 1, false},
		{"newer", Version + 1, false},
		{"far newer", int64(1) << 40, false},
		{"absent", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rawMap(t, sample(t, "mixed"))
			delete(m, "v")
			if tt.version != nil {
				m["v"] = tt.version
			}
			s, err := Decode(encodeRaw(t, m))
			var ve *VersionError
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Decode: %v", err)
			case tt.ok:
				if want := sample(t, "mixed"); s.Version != tt.version || !reflect.DeepEqual(s.Records, want.Records) {
					t.Fatalf("decoded %+v", s)
				}
			case !errors.As(err, &ve):
				t.Fatalf("Decode error %v, want a *VersionError", err)
			case !strings.HasPrefix(err.Error(), "marshal: "):
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestNewerVersionOverLimits stands for a future snapshot that breaks this
// binary's size limits: the version is what the caller must hear about.
func TestNewerVersionOverLimits(t *testing.T) {
	m := rawMap(t, sample(t, "servers"))
	m["v"] = Version + 1
	for i := range 2 * maxMapLen {
		m[strings.Repeat("k", i+1)] = i
	}
	_, err := Decode(encodeRaw(t, m))
	if ve := (*VersionError)(nil); !errors.As(err, &ve) || ve.Version != Version+1 {
		t.Fatalf("Decode error %v, want a *VersionError for %d", err, Version+1)
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *Snapshot)
		want string
	}{
		{"index gap", func(s *Snapshot) { s.Records[1].Index = 3 }, "index 3 at position 2"},
		{"repeated name", func(s *Snapshot) { s.Records[2].Name = "sshd" }, "repeated"},
		{"empty name", func(s *Snapshot) { s.Records[0].Name = "" }, "no name"},
		{"server after task", func(s *Snapshot) {
			s.Records[6].Task, s.Records[6].Argv, s.Records[6].Last = false, []string{"/bin/x"}, Exit{}
		}, "server after a task"},
		{"task with pid", func(s *Snapshot) { s.Records[5].Pid = 77 }, "task with an argv or a pid"},
		{"task with argv", func(s *Snapshot) { s.Records[5].Argv = []string{"x"} }, "task with an argv or a pid"},
		{"server without argv", func(s *Snapshot) { s.Records[0].Argv = nil }, "0 arguments"},
		{"too many arguments", func(s *Snapshot) { s.Records[0].Argv = make([]string, MaxArgv+1) }, "arguments"},
		{"alive without pid", func(s *Snapshot) { s.Records[0].Pid = 0 }, "no pid while ALIVE"},
		{"dead with pid", func(s *Snapshot) { s.Records[4].Pid = 5 }, "while not ALIVE"},
		{"pid too big", func(s *Snapshot) { s.Records[0].Pid = MaxPid + 1 }, "pid 4194304"},
		{"negative pgid", func(s *Snapshot) { s.Records[0].Pgid = -1 }, "pgid -1"},
		{"state", func(s *Snapshot) { s.Records[0].State = numStates }, "state 5"},
		{"signal", func(s *Snapshot) { s.Records[1].Last.Signal = MaxSignal + 1 }, "signal 65"},
		{"exit code", func(s *Snapshot) { s.Records[4].Last.Code = 256 }, "exit code 256"},
		{"negative restarts", func(s *Snapshot) { s.Records[4].Restarts = -1 }, "negative"},
		{"long argument", func(s *Snapshot) { s.Records[0].Argv[0] = strings.Repeat("x", MaxString+1) }, "argument is over"},
		{"long flag", func(s *Snapshot) { s.Flags.Control = strings.Repeat("x", MaxString+1) }, "flag is over"},
		{"long carried logs", func(s *Snapshot) { s.Logs = make([]byte, MaxString+1) }, "carried logs, over"},
		{"negative pacing", func(s *Snapshot) { s.Records[4].Short = -1 }, "pacing -1"},
		{"pacing over the limit", func(s *Snapshot) { s.Records[4].Short = MaxShort + 1 }, "pacing 65537"},
		{"negative retries used", func(s *Snapshot) { s.Records[4].Fast = -1 }, "retries used -1"},
		{"retries used over the limit", func(s *Snapshot) { s.Records[1].Fast = MaxFast + 1 }, "retries used 65537"},
		{"respawn due while ALIVE", func(s *Snapshot) { s.Records[0].DueNs = 5 }, "a respawn due in state 1"},
		{"SIGKILL due while DEAD", func(s *Snapshot) { s.Records[4].KillNs = 5 }, "a SIGKILL due at 5 in state 2"},
		{"negative SIGKILL due", func(s *Snapshot) { s.Records[0].KillNs = -1 }, "a SIGKILL due at -1"},
		{"sd_notify state while DEAD", func(s *Snapshot) { s.Records[4].Notify = &Notify{Ready: true} }, "sd_notify state in state 2"},
		{"long sd_notify status", func(s *Snapshot) { s.Records[0].Notify = &Notify{Status: strings.Repeat("s", MaxNotifyStatus+1)} }, "a status of 4097 bytes"},
		{"negative watchdog due", func(s *Snapshot) { s.Records[0].Notify = &Notify{WatchdogNs: -1, WatchdogTimeoutNs: 1} }, "watchdog due -1"},
		{"watchdog timeout over a day", func(s *Snapshot) { s.Records[0].Notify = &Notify{WatchdogTimeoutNs: MaxWatchdogTimeNs + 1} }, "watchdog due 0, timeout"},
		{"watchdog due without timeout", func(s *Snapshot) { s.Records[0].Notify = &Notify{WatchdogNs: 5} }, "without a timeout"},
		{"negative interval", func(s *Snapshot) { s.Flags.IntervalNs = -1 }, "negative interval"},
		{"negative generation", func(s *Snapshot) { s.Generation = -1 }, "negative generation"},
		{"generation at the limit", func(s *Snapshot) { s.Generation = MaxGeneration + 1 }, "generation 2147483648"},
		{"restarts over the limit", func(s *Snapshot) { s.Records[4].Restarts = MaxRestarts + 1 }, "restarts, over"},
		{"negative state", func(s *Snapshot) { s.Records[1].State = -1 }, "state -1"},
		{"pgid 1", func(s *Snapshot) { s.Records[0].Pgid = 1 }, "pgid 1"},
		{"pgid 1 of a dead server", func(s *Snapshot) { s.Records[4].Pgid = 1 }, "pgid 1"},
		{"alive without pgid", func(s *Snapshot) { s.Records[0].Pgid = 0 }, "no process group while ALIVE"},
		{"alive without proc start", func(s *Snapshot) { s.Records[0].ProcStart = 0 }, "no proc start time"},
		{"pid 1", func(s *Snapshot) { s.Records[0].Pid = 1 }, "pid 1"},
		{"two records of one pid", func(s *Snapshot) {
			s.Records[1] = alive(2, "twin", s.Records[0].Pid, "/usr/sbin/sshd", "-D")
		}, "pid 811 repeats record 1's"},
		{"stdio descriptor", func(s *Snapshot) { s.FDs[0].FD = 2 }, `descriptor "control" 2`},
		{"descriptor too big", func(s *Snapshot) { s.FDs[0].FD = MaxFD + 1 }, "65536"},
		{"repeated descriptor", func(s *Snapshot) { s.FDs[1].FD = s.FDs[0].FD }, "repeats"},
		{"repeated role", func(s *Snapshot) { s.FDs[1].Role = s.FDs[0].Role }, "repeats"},
		{"one output descriptor", func(s *Snapshot) { s.Records[0].Out = s.Records[0].Out[:1] }, "1 output descriptors"},
		{"output descriptor stdio", func(s *Snapshot) { s.Records[0].Out[1] = 1 }, "output descriptor 1"},
		{"output descriptor kept", func(s *Snapshot) { s.Records[0].Out[1] = 5 }, "output descriptor 5"},
		{"output descriptor repeated", func(s *Snapshot) { s.Records[4].Out[1] = 10 }, "output descriptor 10"},
		{"task with output", func(s *Snapshot) { s.Records[5].Out = []int{20, 21} }, "2 output descriptors"},
		{"no role", func(s *Snapshot) { s.FDs[1].Role = "" }, `descriptor "" 6`},
		{"too many descriptors", func(s *Snapshot) {
			for i := range MaxFDs {
				s.FDs = append(s.FDs, FD{Role: "extra" + strings.Repeat("+", i), FD: 100 + i})
			}
		}, "descriptors, over the limit"},
		{"too many records", func(s *Snapshot) { s.Records = make([]Record, MaxRecords+1) }, "records, over the limit"},
		{"too many elements", func(s *Snapshot) {
			s.Records = s.Records[:0]
			for i := range maxElements/MaxArgv + 1 {
				r := alive(i+1, strings.Repeat("n", i+1), i+2)
				r.Argv = make([]string, MaxArgv)
				s.Records = append(s.Records, r)
			}
		}, "array elements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample(t, "mixed")
			s.Records[0].Argv = append([]string(nil), s.Records[0].Argv...)
			s.Records[0].Out = append([]int(nil), s.Records[0].Out...)
			s.Records[4].Out = append([]int(nil), s.Records[4].Out...)
			tt.edit(s)
			_, err := Encode(s)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "marshal: ") {
				t.Fatalf("Encode error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Encode(nil); err == nil {
		t.Fatal("Encode(nil) succeeded")
	}
}

// big is a snapshot of n servers with typical command lines, and tasks.
func big(tb testing.TB, n int) *Snapshot {
	s := sample(tb, "mixed")
	tasks := s.Records[5:]
	s.Records = nil
	for i := range n {
		r := alive(i+1, fmt.Sprintf("server-%d", i), 1000+i, "/usr/local/bin/service", "--config", fmt.Sprintf("/etc/service/%d.conf", i), "--respawn")
		s.Records = append(s.Records, r)
	}
	for i, t := range tasks {
		t.Index = n + i + 1
		s.Records = append(s.Records, t)
	}
	return s
}

func BenchmarkEncode500(b *testing.B) {
	s := big(b, 500)
	for b.Loop() {
		if _, err := Encode(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode500(b *testing.B) {
	in := mustEncode(b, big(b, 500))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecodeRefusesWatch(t *testing.T) {
	proc := func(key string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["watch"].(map[string]any)["procs"].([]any)[0].(map[string]any)[key] = v }
	}
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"rule index", proc("rule", 7), "rule 7 of 3"},
		{"negative rule index", proc("rule", -1), "rule -1 of 3"},
		{"pid 1", proc("pid", 1), "pid 1"},
		{"pid over the limit", proc("pid", MaxPid+1), "pid"},
		{"twice", func(m map[string]any) {
			w := m["watch"].(map[string]any)
			w["procs"] = append(w["procs"].([]any), w["procs"].([]any)[0])
		}, "twice"},
		{"too many rules", func(m map[string]any) {
			rules := make([]any, MaxWatchRules+1)
			for i := range rules {
				rules[i] = map[string]any{"rule": "pid:2"}
			}
			m["watch"].(map[string]any)["rules"] = rules
		}, "watch rules"},
		{"adopted task", func(m map[string]any) {
			m["recs"].([]any)[1].(map[string]any)["adopted"] = map[string]any{"rule": "pid:2"}
		}, "a task adopted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rawMap(t, sample(t, "watch"))
			tt.edit(m)
			_, err := Decode(encodeRaw(t, m))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "marshal: ") {
				t.Fatalf("Decode error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeRefusesHeartbeat(t *testing.T) {
	reg := func(key string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["heartbeat"].(map[string]any)["regs"].([]any)[0].(map[string]any)[key] = v }
	}
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"file of another pid", reg("file", ".phm_4301_aB3xYz"), "file"},
		{"file with a slash", reg("file", "../.phm_4300_x"), "file"},
		{"relative fifo", reg("fifo", "tmp/f"), "fifo"},
		{"name too long", reg("name", strings.Repeat("n", 65)), "name of 65 bytes"},
		{"period too short", reg("period", 1), "period"},
		{"negative misses", reg("misses", -1), "misses"},
		{"action 3", reg("action", 3), "action 3"},
		{"negative last beat", reg("last", -1), "last beat"},
		{"pid twice", func(m map[string]any) {
			h := m["heartbeat"].(map[string]any)
			h["regs"] = append(h["regs"].([]any), h["regs"].([]any)[0])
		}, "repeats pid"},
		{"too many", func(m map[string]any) {
			m["heartbeat"].(map[string]any)["regs"] = make([]any, MaxHeartbeats+1)
		}, "registrants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rawMap(t, sample(t, "heartbeat"))
			tt.edit(m)
			_, err := Decode(encodeRaw(t, m))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "marshal: ") {
				t.Fatalf("Decode error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
