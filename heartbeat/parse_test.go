package heartbeat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	good := "fifo=/tmp/f\nperiod=100ms\nmisses=2\naction=kill\nname=web\n"
	tests := []struct {
		name string
		in   string
		want Registration
		err  string // a substring of the error, "" for none
		inc  bool   // ErrIncomplete
	}{
		{name: "all keys", in: good, want: Registration{FIFO: "/tmp/f", Period: 100 * time.Millisecond, Misses: 2, Action: ActionKill, Name: "web"}},
		{name: "milliseconds and comments", in: "# c\n\nname=a\naction=log\nmisses=0\nperiod=250\nfifo=/f\n",
			want: Registration{FIFO: "/f", Period: 250 * time.Millisecond, Action: ActionLog, Name: "a"}},
		{name: "half written", in: "fifo=/tmp/f\nperi", inc: true},
		{name: "key missing", in: "fifo=/tmp/f\nperiod=1s\nmisses=1\naction=log\n", inc: true},
		{name: "empty", in: "", inc: true},
		{name: "unknown key", in: good + "pid=3\n", err: "unknown key"},
		{name: "repeated key", in: good + "name=x\n", err: "repeated"},
		{name: "relative fifo", in: strings.Replace(good, "/tmp/f", "tmp/f", 1), err: "absolute"},
		{name: "period too short", in: strings.Replace(good, "100ms", "1ms", 1), err: "period"},
		{name: "period not a duration", in: strings.Replace(good, "100ms", "soon", 1), err: "period"},
		{name: "negative misses", in: strings.Replace(good, "misses=2", "misses=-1", 1), err: "misses"},
		{name: "bad action", in: strings.Replace(good, "kill", "term", 1), err: "action"},
		{name: "name with a space", in: strings.Replace(good, "name=web", "name=w b", 1), err: "name"},
		{name: "not key=value", in: "fifo\n", err: "key=value"},
		{name: "too big", in: good + "#" + strings.Repeat("x", MaxFile) + "\n", err: "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			switch {
			case tt.inc:
				if !errors.Is(err, ErrIncomplete) {
					t.Fatalf("Parse: %v, want ErrIncomplete", err)
				}
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) || errors.Is(err, ErrIncomplete) {
					t.Fatalf("Parse: %v, want an error with %q", err, tt.err)
				}
			case err != nil:
				t.Fatal(err)
			case got != tt.want:
				t.Fatalf("Parse: %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFileName(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		ok   bool
	}{
		{".phm_1234_aB3xYz", 1234, true},
		{".phm_1_0", 1, true},
		{".phm_1234", 0, false},
		{".phm_1234_", 0, false},
		{".phm_0123_abc", 0, false},
		{".phm_-1_abc", 0, false},
		{".phm_99999999_abc", 0, false},
		{".phm_12_a/b", 0, false},
		{"invalid.phm_12_abc", 0, false},
		{".phm_12_" + strings.Repeat("a", 33), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, ok := ParseFileName(tt.name)
			if pid != tt.pid || ok != tt.ok {
				t.Fatalf("ParseFileName(%q) = %d, %t; want %d, %t", tt.name, pid, ok, tt.pid, tt.ok)
			}
		})
	}
}

// TestParseSeeds parses the seed files of the fuzz target: real
// registrations, as the example clients write them.
func TestParseSeeds(t *testing.T) {
	for _, f := range seeds(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func seeds(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*.reg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds in testdata: %v", err)
	}
	return files
}

// FuzzParse checks that Parse never panics, and that what it accepts is
// within the limits.
func FuzzParse(f *testing.F) {
	for _, file := range seeds(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		if r.Period < MinPeriod || r.Period > MaxPeriod || r.Misses < 0 || r.Misses > MaxMisses ||
			r.FIFO == "" || r.FIFO[0] != '/' || r.Name == "" || len(r.Name) > MaxName ||
			(r.Action != ActionKill && r.Action != ActionLog) || len(b) > MaxFile {
			t.Fatalf("Parse accepted %+v", r)
		}
	})
}
