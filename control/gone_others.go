//go:build !linux

package control

// watchGone does not watch here: a waiting request ends with its answer
// or its time limit.
func (cl *client) watchGone() (gone <-chan struct{}, stop func()) { return nil, func() {} }
