//go:build linux

package watch

import (
	"fmt"
	"os"
	"testing"
)

// testModes turn the test binary into a helper process when
// WATCH_TEST_MODE names one: a test re-executes itself (under unshare, for
// instance) to try the kernel from where it cannot serve.
var testModes = map[string]func() int{
	"open": openMode,
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
