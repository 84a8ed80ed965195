package notify

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Message
		err  error
	}{
		{name: "ready", in: "READY=1", want: Message{Ready: true}},
		{name: "ready with newline", in: "READY=1\n", want: Message{Ready: true}},
		{name: "several", in: "READY=1\nSTATUS=serving 3 clients\nMAINPID=4242\n",
			want: Message{Ready: true, Status: "serving 3 clients", StatusSet: true, MainPID: 4242}},
		{name: "watchdog", in: "WATCHDOG=1", want: Message{Watchdog: true}},
		{name: "watchdog trigger", in: "WATCHDOG=trigger", want: Message{WatchdogTrigger: true}},
		{name: "watchdog usec", in: "WATCHDOG_USEC=2000000", want: Message{WatchdogUsec: 2000000}},
		{name: "reloading stopping", in: "RELOADING=1\nSTOPPING=1", want: Message{Reloading: true, Stopping: true}},
		{name: "errno", in: "ERRNO=2", want: Message{Errno: 2, ErrnoSet: true}},
		{name: "barrier", in: "BARRIER=1", want: Message{Barrier: true}},
		{name: "empty status", in: "STATUS=", want: Message{StatusSet: true}},
		{name: "status keeps =", in: "STATUS=a=b", want: Message{Status: "a=b", StatusSet: true}},
		{name: "unknown keys ignored", in: "FDSTORE=1\nX_FOO=bar\nnoequals\n\n", want: Message{}},
		{name: "ready=0 invalid", in: "READY=0", want: Message{Invalid: []string{"READY"}}},
		{name: "mainpid 0 invalid", in: "MAINPID=0", want: Message{Invalid: []string{"MAINPID"}}},
		{name: "mainpid sign invalid", in: "MAINPID=+5\nMAINPID=-5\nMAINPID= 5", want: Message{Invalid: []string{"MAINPID"}}},
		{name: "mainpid too big", in: "MAINPID=4194304", want: Message{Invalid: []string{"MAINPID"}}},
		{name: "mainpid huge", in: "MAINPID=99999999999999999999999", want: Message{Invalid: []string{"MAINPID"}}},
		{name: "watchdog usec 0", in: "WATCHDOG_USEC=0", want: Message{Invalid: []string{"WATCHDOG_USEC"}}},
		{name: "watchdog other", in: "WATCHDOG=2", want: Message{Invalid: []string{"WATCHDOG"}}},
		{name: "errno too big", in: "ERRNO=4096", want: Message{Invalid: []string{"ERRNO"}}},
		{name: "later wins", in: "STATUS=a\nSTATUS=b", want: Message{Status: "b", StatusSet: true}},
		{name: "lower case key unknown", in: "ready=1", want: Message{}},
		{name: "nul refused", in: "READY=1\x00", err: ErrNul},
		{name: "too long refused", in: strings.Repeat("x", MaxMessage+1), err: ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != tt.err {
				t.Fatalf("Parse(%q) error %v, want %v", tt.in, err, tt.err)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// TestParseStatusBounded checks that a status is cut at MaxStatus, so
// that a server cannot grow respawn's memory or its dump beyond it.
func TestParseStatusBounded(t *testing.T) {
	m, err := Parse([]byte("STATUS=" + strings.Repeat("s", MaxMessage-7)))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Status) != MaxStatus {
		t.Errorf("status of %d bytes, want %d", len(m.Status), MaxStatus)
	}
}
