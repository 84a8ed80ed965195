//go:build linux

package watch

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// testModes turn the test binary into a helper process when
// WATCH_TEST_MODE names one: a test re-executes itself (under unshare, for
// instance) to try the kernel from where it cannot serve.
var testModes = map[string]func() int{
	"open":  openMode,
	"adopt": adoptMode,
}

func TestMain(m *testing.M) {
	if mode, ok := testModes[os.Getenv("WATCH_TEST_MODE")]; ok {
		os.Exit(mode())
	}
	os.Exit(m.Run())
}

// openMode opens the socket and says what happened: "ok", or the error.
func openMode() int {
	c, err := Open(Options{})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	c.Close()
	fmt.Println("ok, masked:", c.Masked(), "rcvbuf:", c.RcvBuf())
	return 0
}

// adoptMode adopts the socket at descriptor 3, watching WATCH_TEST_PID,
// and prints the exit code of that pid's exit: "exit CODE".
func adoptMode() int {
	pid, _ := strconv.Atoi(os.Getenv("WATCH_TEST_PID"))
	c, err := Adopt(3, Options{}, []int{pid})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer c.Close()
	time.AfterFunc(10*time.Second, func() { c.Close() })
	var evs []Event
	for {
		evs, err = c.Receive(evs[:0])
		if err != nil {
			fmt.Println(err)
			return 1
		}
		for _, e := range evs {
			if e.Kind == KindExit && e.Pid == pid {
				fmt.Printf("exit %#x\n", e.ExitCode)
				return 0
			}
		}
	}
}
