package respawn

import "respawn/acct"

// AcctConfig sets up the task "acct": the daemon's configuration (the
// directory, the defaults of atopacctd's protocol).
type AcctConfig struct {
	acct.Config
}

// AcctRoles are the roles, among the descriptors a live upgrade keeps, of
// the accounting source (read) and the current shadow file (write).
const (
	AcctSourceRole = "acct-source"
	AcctShadowRole = "acct-shadow"
)
