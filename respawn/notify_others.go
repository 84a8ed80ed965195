//go:build !linux

package respawn

func (s *Supervisor) notifyOpen()                                        {}
func (s *Supervisor) notifyWake() <-chan struct{}                        { return nil }
func (s *Supervisor) onNotifyWake()                                      {}
func (s *Supervisor) readNotify() bool                                   { return true }
func (s *Supervisor) notifyEnv(_ *Server, env []string, _ bool) []string { return env }
func (s *Supervisor) abort(*Server)                                      {}
