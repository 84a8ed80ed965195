//go:build !linux

package respawn

func acctUnservable() string { return "process accounting needs Linux" }
