package notify

import (
	"bytes"
	"testing"
)

// FuzzParse checks that Parse never panics, refuses what is over the
// limit or holds a NUL, and returns only values within the bounds it
// documents.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"READY=1", "READY=1\nSTATUS=up\n", "WATCHDOG=1", "WATCHDOG=trigger", "WATCHDOG_USEC=5000000",
		"MAINPID=42", "ERRNO=5", "STOPPING=1\nRELOADING=1", "BARRIER=1", "X=1\n\n=\n==\nSTATUS",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if len(b) <= MaxMessage && bytes.IndexByte(b, 0) < 0 {
				t.Fatalf("Parse(%q) refused: %v", b, err)
			}
			return
		}
		switch {
		case len(m.Status) > MaxStatus:
			t.Fatalf("status of %d bytes", len(m.Status))
		case m.MainPID < 0 || m.MainPID > MaxPid:
			t.Fatalf("MAINPID %d", m.MainPID)
		case m.WatchdogUsec > MaxWatchdogUsec:
			t.Fatalf("WATCHDOG_USEC %d", m.WatchdogUsec)
		case m.Errno < 0 || m.Errno > 4095:
			t.Fatalf("ERRNO %d", m.Errno)
		case len(m.Invalid) > 9:
			t.Fatalf("%d invalid keys: %q", len(m.Invalid), m.Invalid)
		}
	})
}
