package acct

import "errors"

var errStub = errors.New("acct: not implemented")

// Check makes the refusals without changing anything (no semaphore made,
// no file created, accounting untouched), so that respawn can refuse to
// start before anything runs. In order:
//   - cfg.Dir (default DefaultDir) is a directory (stat follows no final
//     symlink: Lstat, a symlink is refused), owned by root, not writable
//     by group or others: else ErrUnsafeDir ("acct: /x is not owned by
//     root", "... is writable by group or others", "... is not a directory").
//   - the file system holding cfg.Dir is over 95% full (statfs:
//     f_bfree*100/f_blocks < 5, or f_blocks 0): ErrFull, with the path.
//   - the private semaphore PrivateKey exists with a value above 0: an
//     atopacctd or another respawn --acct runs: ErrRunning.
//   - another accounting is on: AtopKey's semaphore 1 below 100 (an atop
//     switched accounting on itself, to /var/cache/atop.d), or, as atop
//     itself tells: one of /var/log/pacct, /var/account/pacct,
//     /var/log/account/pacct grows while a child of ours ends (ProbeExit):
//     ErrOtherActive, naming the file.
//
// Must be root (CAP_SYS_PACCT): Check does not test that (Start fails).
func Check(cfg Config) error { return errStub }
