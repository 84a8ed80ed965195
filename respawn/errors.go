package respawn

import "errors"

var errBadStat = errors.New("respawn: malformed /proc/PID/stat")

// errNoWatch is the answer to a watch request when no watch task runs.
var errNoWatch = errors.New("respawn: not watching: start respawn with a --watch flag")
