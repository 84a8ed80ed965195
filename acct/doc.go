// Package acct reads the records that the kernel's BSD process accounting,
// switched on with acct(2), appends to its file: one fixed-size record per
// ended process (struct acct_v3 of linux/acct.h on current kernels, struct
// acct version 2 on old ones).
//
// Parse and ParseAll only decode bytes; they take any input without
// panicking and never read past the record they decode.
//
// # The daemon
//
// Daemon is respawn's atopacctd, following its protocol so that an
// unmodified atop reads what it writes. Start switches accounting on to
// Dir/pacct_source; Pump, called when a process has ended, copies the new
// records to Dir/pacct_shadow.d/NNNNNNNNNN.paf, MaxRecs records a file,
// with "SEQ/MAXREC" in Dir/pacct_shadow.d/current, but only while atop
// clients are registered on the public semaphore set (key 1071980): with
// none, the records are dropped, and when the last one leaves every shadow
// file is removed and the sequence starts at 0 again. Tick removes the
// shadow files that no reader holds a read lock on (every GCInterval) and
// switches accounting on again after NoRecord without a record. A file
// system over 95% full suspends the copying. One daemon at a time runs on
// a machine: the private semaphore set (key 1071979) is raised with
// SEM_UNDO while it runs, and falls back however the process ends.
//
// Where it differs from atopacctd: the source is emptied past MaxSource by
// switching accounting over to a new file and reading the old one to its
// end, not by truncating it, which loses the records written between the
// last read and the truncation; the records are also kept for Take, which
// gives a supervised child's record (matched by pid and start time) for
// its death report; and State, Files and Adopt carry the daemon across a
// live upgrade with accounting left on, no record lost or copied twice.
//
// Bytes of the source that are no record are skipped 64 at a time,
// counted (Stats.Bad) and logged once; one Pump reads at most 64 reads of
// 64 KiB.
package acct
