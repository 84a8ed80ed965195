//go:build linux

package test

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// helper is the test binary playing a server: "TESTBIN helper MODE ARGS...".
//
//	sleep                 wait for a signal (dies of it, by default action)
//	exit CODE [DELAY]     wait DELAY (a Go duration), then exit with CODE
//	record FILE           append "pid argv..." to FILE, then sleep
//	ignoreterm FILE       ignore SIGTERM, write FILE when ready, then sleep
//	orphan FILE           start a grandchild that sleeps, write its pid to FILE, exit 1
//	signals FILE          write "ready" to FILE, then append the name of every
//	                      signal received; exit 0 after SIGTERM, SIGINT or SIGQUIT
func helper(args []string) int {
	if len(args) == 0 {
		return 99
	}
	switch args[0] {
	case "sleep":
		return pause()
	case "exit":
		code, _ := strconv.Atoi(args[1])
		if len(args) > 2 {
			d, _ := time.ParseDuration(args[2])
			time.Sleep(d)
		}
		return code
	case "record":
		appendLine(args[1], fmt.Sprintf("%d %s", os.Getpid(), strings.Join(os.Args[3:], " ")))
		return pause()
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
		appendLine(args[1], strconv.Itoa(os.Getpid()))
		return pause()
	case "orphan":
		c := exec.Command("sleep", "300")
		if err := c.Start(); err != nil {
			return 98
		}
		appendLine(args[1], strconv.Itoa(c.Process.Pid))
		return 1
	case "signals":
		return recordSignals(args[1])
	}
	if h, ok := moreHelpers[args[0]]; ok {
		return h(args[1:])
	}
	return 99
}

// moreHelpers are helper modes defined by other test files.
var moreHelpers = map[string]func(args []string) int{}

func pause() int {
	for {
		time.Sleep(time.Hour)
	}
}

func appendLine(name, line string) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		os.Exit(97)
	}
	fmt.Fprintln(f, line)
	f.Close()
}

func recordSignals(file string) int {
	c := make(chan os.Signal, 16)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH,
		syscall.SIGCONT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM)
	appendLine(file, "ready")
	for sig := range c {
		appendLine(file, unix.SignalName(sig.(syscall.Signal)))
		switch sig {
		case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT:
			return 0
		}
	}
	return 0
}
