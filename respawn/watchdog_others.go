//go:build !linux

package respawn

func ownDescriptor(string) int { return -1 }
