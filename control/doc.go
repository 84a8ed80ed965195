// Package control is the server side of respawn's control socket: a unix
// stream socket on which an operator's client (respawnctl, or any program)
// sends one JSON request per line and reads one JSON answer per line.
// PROTOCOL.md describes the requests and answers.
//
// The listening socket belongs to the caller, not to Serve: main creates it
// with Listen before the supervisor runs (or adopts the one a live upgrade
// kept, with FromFD), runs Serve as the supervisor's "control" task, and
// closes it and removes the socket file when the supervisor ends. Serve
// never closes the listener, so a task restart or a live upgrade (execve
// with the listener's descriptor kept) loses no client: connections made in
// between wait in the socket's backlog.
//
// Every client is served on its own goroutine, and every access to the
// supervisor goes through Supervisor.Do with a timeout, so a client never
// blocks the event loop.
package control
