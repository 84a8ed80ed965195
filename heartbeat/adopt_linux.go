//go:build linux

package heartbeat

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Adopt takes over the registrants a live upgrade handed over, before
// Run: each FIFO must be a FIFO and each pidfd name its pid, or the
// registrant is dropped (its descriptors closed; its file removed if its
// process has exited, renamed otherwise: what remains is not trusted).
// Deadlines go on from the last beats the old image saw: CLOCK_MONOTONIC
// is the same clock across execve, so a beat missed during the upgrade
// is missed, and beats written meanwhile wait in the FIFOs.
func (m *Monitor) Adopt(h Handover) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &m.st.totals
	t.Registered, t.Beats, t.Missed = h.Registered, h.Beats, h.Missed
	m.refused.Store(h.Refused)
	for _, k := range h.Registrants {
		r := &registrant{Kept: k, at: -1}
		err := m.checkKept(k)
		if err == nil {
			err = m.watch(r)
		}
		if err != nil {
			m.log.Warn("heartbeat: registrant not taken over", r.logAttrs("err", err)...)
			m.drop(k)
			continue
		}
		m.log.Info("heartbeat: registrant taken over", r.logAttrs("beats", k.Beats, "late", k.Fired)...)
	}
}

var errExited = errors.New("heartbeat: the registrant has exited")

// checkKept checks what the snapshot says against the descriptors.
func (m *Monitor) checkKept(k Kept) error {
	if pid, ok := ParseFileName(k.File); !ok || pid != k.Pid || k.FIFO == k.PidFD || m.st.byPid[k.Pid] != nil {
		return fmt.Errorf("heartbeat: registrant %d of file %q", k.Pid, k.File)
	}
	var st unix.Stat_t
	if err := unix.Fstat(k.FIFO, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return fmt.Errorf("heartbeat: descriptor %d is not a FIFO", k.FIFO)
	}
	pid, err := pidfdPid(k.PidFD)
	switch {
	case err != nil:
		return err
	case pid == -1:
		return errExited
	case pid != k.Pid:
		return fmt.Errorf("heartbeat: pidfd %d names pid %d, not %d", k.PidFD, pid, k.Pid)
	}
	return nil
}

// drop closes the descriptors of a registrant not taken over, and
// removes or renames its file.
func (m *Monitor) drop(k Kept) {
	exited := unix.PidfdSendSignal(k.PidFD, 0, nil, 0) != nil
	if k.FIFO >= 0 {
		unix.Close(k.FIFO)
	}
	if k.PidFD >= 0 && k.PidFD != k.FIFO {
		unix.Close(k.PidFD)
	}
	switch pid, ok := ParseFileName(k.File); {
	case !ok || pid != k.Pid:
	case exited:
		_ = unix.Unlinkat(int(m.sys.dir.Fd()), k.File, 0)
	default:
		m.rename(k.File, k.Pid)
	}
}
