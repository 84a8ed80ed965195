//go:build linux

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"respawn/acct"
	"respawn/control"
)

// A server's death with --acct as respawnctl shows it: the status's
// "accounting:" row, list --json's acct and the kept events' acct, all
// with the exit the kernel recorded; and all three still there after a
// live upgrade. It reproduces the snapshot's loss of the record: the new
// image showed the death without it, and replayed a late record's
// "accounted" event as a transition from BURIED to BURIED.
func TestAcctShownAcrossUpgrade(t *testing.T) {
	acctTestLock(t)
	gate := tempFile(t, "gate")
	s, sock := startCtl(t, "--acct", "--retries=0",
		"{", "@dies", "sh", "-c", "while [ ! -e "+gate+" ]; do sleep 0.05; done; exit 3", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if g := deathAcct(t, s, 1); g["exit"] != "exit 3" {
		t.Fatalf("the death's accounting says %v; want exit 3", g)
	}
	shownAcct(t, sock, "before the upgrade")
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded"))
	shownAcct(t, sock, "after the upgrade")
	s.stop()
}

// shownAcct checks that status, list --json and the kept events show the
// accounting of server "dies"'s death by exit 3.
func shownAcct(t *testing.T, sock, when string) {
	t.Helper()
	out := ctlOK(t, sock, "status", "dies")
	if !strings.Contains(out, "\naccounting: exit 3 ") {
		t.Errorf("%s: status shows no accounting row of the exit 3:\n%s", when, out)
	}
	if in := list(t, sock)["dies"]; in.Acct == nil || in.Acct.Exit != "exit 3" || in.Acct.Signaled {
		t.Errorf("%s: list --json's acct is %+v; want exit 3", when, in.Acct)
	}
	last := eventSeq(t, sock)
	r := dialRaw(t, sock)
	if ans := r.ask(`{"cmd":"events","after":0}`); !ans.OK {
		t.Fatalf("%s: events: %+v", when, ans)
	}
	for seen := false; ; {
		b, err := r.line()
		if err != nil {
			t.Fatalf("%s: events: %v", when, err)
		}
		var l control.StreamLine
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s: events line %q: %v", when, b, err)
		}
		if l.Watch == "" && l.From != "" && l.From == l.To && !l.Accounted || l.Accounted && l.Exit != "exit 3" {
			t.Errorf("%s: event %s: a transition to the same state, or an accounted line without the death's exit", when, b)
		}
		seen = seen || l.Name == "dies" && l.Acct != nil && l.Acct.Exit == "exit 3"
		if l.Seq >= last {
			if !seen {
				t.Errorf("%s: no kept event of the death carries its accounting", when)
			}
			return
		}
	}
}

// Without CAP_SYS_PACCT (root, but the capability dropped from the
// bounding set, as a hardened unit does) the task says so in one line and
// is buried, accounting untouched; the servers run.
func TestAcctBuriedWithoutCapability(t *testing.T) {
	acctTestLock(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal("setpriv (util-linux) is needed:", err)
	}
	s := launch(t, exec.Command(setpriv, "--bounding-set=-sys_pacct", respawnBin,
		"--log-format=json", "--control=none", "--acct", "{", "sleep", "1000", "}"))
	t.Cleanup(s.cleanup)
	guard(s)
	l := s.waitLog(1, msg("BURIED", "task", "acct"))
	if !strings.Contains(fmt.Sprint(l["exit"]), "CAP_SYS_PACCT") {
		t.Errorf("the task was buried with %q; want the missing CAP_SYS_PACCT as the reason", l["exit"])
	}
	s.waitLog(1, msg("ALIVE", "server", 1))
	if _, err := os.Lstat(filepath.Join(acct.DefaultDir, acct.SourceName)); err == nil {
		t.Errorf("%s made without the capability", acct.SourceName)
	}
	if n := s.count(msg("DEAD", "task", "acct")); n != 0 {
		t.Errorf("the task was tried %d more times", n)
	}
	s.stop()
}

// A live upgrade whose new image cannot take the accounting over (its
// source was replaced behind respawn's back) switches it off and starts a
// daemon anew. It reproduces the task buried at once instead, with
// accounting off; and the private semaphore the old image left raised
// (SEM_UNDO survives execve), which refused any new start, a revive's
// too, as "already running".
func TestAcctUpgradeNotAdopted(t *testing.T) {
	acctTestLock(t)
	s := begin(t, "--acct", "{", "sleep", "1000", "}")
	s.waitLog(1, msg("acct: process accounting on"))
	t.Cleanup(func() { // the shadow directory a new start moves aside
		os.RemoveAll(filepath.Join(acct.DefaultDir, acct.ShadowDirName+"-old-"+strconv.Itoa(s.Pid)))
	})
	src := filepath.Join(acct.DefaultDir, acct.SourceName)
	if err := os.WriteFile(src+".planted", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(src+".planted", src); err != nil {
		t.Fatal(err)
	}
	s.signal(unix.SIGHUP)
	s.waitLog(1, msg("respawn upgraded", "generation", 1))
	s.waitLog(1, msg("acct: the old image's accounting not taken over (switched off); starting anew"))
	s.waitLog(2, msg("acct: process accounting on", "inherited", false))
	if n := s.count(msg("BURIED", "task", "acct")); n != 0 {
		t.Errorf("the acct task was buried")
	}
	s.stop()
}
