package notify

// Datagram is one message as received, with the kernel's credentials of
// its sender.
type Datagram struct {
	Data []byte // the message, at most MaxMessage bytes
	Pid  int    // the sender's pid (SCM_CREDENTIALS), in respawn's pid namespace; 0 if it has none there
	UID  uint32
	GID  uint32

	// Pidfd is a pidfd of the sender (SCM_PIDFD), or -1 where the kernel
	// has no SO_PASSPIDFD. The receiver owns it: Close closes it.
	Pidfd int

	// Dropped counts the descriptors the sender passed (SCM_RIGHTS):
	// Close closes them, which the caller does as soon as it has placed
	// the sender (a BARRIER=1 sender exits once they are closed, and
	// could not be placed any more). Truncated says the datagram was longer
	// than MaxMessage (Data holds its start): it is to be refused.
	Dropped   int
	Truncated bool

	rights []int // the passed descriptors, until Close
}

// Role is the socket's role among the descriptors a live upgrade keeps.
const Role = "notify"

// SocketEnv is the environment variable that names the socket to a server.
const SocketEnv = "NOTIFY_SOCKET"
