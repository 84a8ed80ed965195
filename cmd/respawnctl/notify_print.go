package main

import (
	"slices"

	"respawn/respawn"
)

// showNotify reports whether the list has READY and STATUS columns: when
// some server said something over sd_notify, or has --ready or
// --watchdog.
func showNotify(list []respawn.Info) bool {
	return slices.ContainsFunc(list, func(in respawn.Info) bool { return in.Notify != nil })
}

// withNotify is row, then the READY and STATUS columns if shown.
func withNotify(show bool, row []string, in respawn.Info) []string {
	if !show {
		return row
	}
	ready, status := "-", "-"
	if n := in.Notify; n != nil {
		ready = "no"
		if n.Ready {
			ready = "yes"
		}
		if n.Status != "" {
			status = statusColumn(n.Status)
		}
	}
	return append(row, ready, status)
}

// statusColumn is a server's STATUS= for the table: escaped, at most
// statusWidth runes (status shows it whole).
func statusColumn(s string) string {
	r := []rune(esc(s))
	if len(r) <= statusWidth {
		return string(r)
	}
	return string(r[:statusWidth-3]) + "..."
}

const statusWidth = 40

// notifyFields are status's lines for what the server said over
// sd_notify.
func notifyFields(in respawn.Info) [][2]string {
	n := in.Notify
	if n == nil {
		return nil
	}
	ready := "no"
	if n.Ready {
		ready = "yes"
	}
	f := [][2]string{{"ready", ready}}
	if n.Status != "" {
		f = append(f, [2]string{"status", esc(n.Status)})
	}
	if n.Watchdog != "" {
		f = append(f, [2]string{"sd watchdog", esc(n.Watchdog) + " (next WATCHDOG=1 due by " + esc(n.WatchdogDue) + ")"})
	}
	if n.MainPid {
		f = append(f, [2]string{"main pid", "from MAINPID="})
	}
	return f
}
