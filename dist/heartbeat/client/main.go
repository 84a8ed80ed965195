// Command client is an example client of respawn's heartbeat monitor
// (respawn --heartbeat-dir=DIR), in Go with the standard library only: it
// registers its own PID, then writes a beat to its FIFO every period.
//
//	client -dir DIR -name NAME [-period 1s] [-misses 2] [-action kill|log] [-beats N]
//
// With -beats, it stops beating after that many and waits without
// beating. On SIGTERM it removes its registration (respawn unregisters
// it) and its FIFO, and exits.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run()) }

func run() int {
	dir := flag.String("dir", "/run/respawn/heartbeat", "respawn's --heartbeat-dir")
	name := flag.String("name", "client", "the name respawn logs")
	period := flag.Duration("period", time.Second, "the beat period")
	misses := flag.Int("misses", 2, "periods in a row that may pass without a beat")
	action := flag.String("action", "kill", "kill or log")
	beats := flag.Int("beats", -1, "stop beating after that many (-1: never)")
	flag.Parse()
	fifo, fd, err := openFIFO(*name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	defer os.Remove(fifo)
	body := fmt.Sprintf("fifo=%s\nperiod=%s\nmisses=%d\naction=%s\nname=%s\n", fifo, *period, *misses, *action, *name)
	file, err := register(*dir, body)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	beat(fd, *period, *beats)
	os.Remove(file) // unregisters
	return 0
}

// openFIFO makes a FIFO and opens it for reading and writing (an open for
// writing only would wait for respawn to open it), non-blocking: a beat
// that finds the FIFO full (respawn not reading) is dropped, not waited on.
// There is one FIFO per name: a client killed for a missed beat leaves
// its FIFO, which the next one of that name replaces.
func openFIFO(name string) (string, int, error) {
	fifo := filepath.Join(os.TempDir(), "heartbeat."+name+".fifo")
	_ = os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return "", -1, fmt.Errorf("mkfifo: %w", err)
	}
	fd, err := syscall.Open(fifo, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(fifo)
		return "", -1, fmt.Errorf("open: %w", err)
	}
	return fifo, fd, nil
}

// register writes the registration under a temporary name, then renames
// it to .phm_<PID>_<random>: respawn never reads it half written.
func register(dir, body string) (string, error) {
	f, err := os.CreateTemp(dir, "tmp.")
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	final := filepath.Join(dir, fmt.Sprintf(".phm_%d_%s", os.Getpid(), strings.TrimPrefix(filepath.Base(f.Name()), "tmp.")))
	if err == nil {
		err = os.Rename(f.Name(), final)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return final, nil
}

// beat writes a byte every period, n times (n < 0: without end), then
// waits; it returns on SIGTERM or SIGINT.
func beat(fd int, period time.Duration, n int) {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for i := 0; ; i++ {
		if n < 0 || i < n {
			_, _ = syscall.Write(fd, []byte{'.'})
		} else {
			tick.Stop()
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
