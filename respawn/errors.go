package respawn

import "errors"

var errBadStat = errors.New("respawn: malformed /proc/PID/stat")
