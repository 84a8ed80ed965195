package respawn

// group is the process group that signals for r go to, and whether r has
// one of its own. respawn starts every server as the leader of a new
// group, whose id is its pid, and after an upgrade it takes the group from
// /proc, never from the snapshot. A server whose process is not the leader
// of its group (one adopted after it joined another), or a record that
// names group 0 or 1, has none: signals then go to its pid alone, so that
// a signal meant for a server never reaches a group of other processes
// (kill(-1, sig) would reach every process on the machine).
func (r *Server) group() (int, bool) {
	if r.task != nil || r.State != Alive || r.Pid <= 1 || r.Pgid != r.Pid {
		return 0, false
	}
	return r.Pgid, true
}
