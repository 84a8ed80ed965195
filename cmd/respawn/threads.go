package main

import (
	"runtime"
	"sync"
)

// spareThreads is how many OS threads respawn starts at once and leaves
// idle, on top of those the runtime made on the way to the event loop.
const spareThreads = 8

// reserveThreads has the Go runtime start n more OS threads now and keep
// them idle in its pool, where it takes a thread from before it makes one.
// A user at their RLIMIT_NPROC gets EAGAIN from fork, which respawn
// survives (it retries), but a thread the runtime cannot make is fatal to
// the whole process: with spares made early, respawn needs no new thread
// when a blocking fork or read would otherwise ask for one.
func reserveThreads(n int) {
	var locked, done sync.WaitGroup
	locked.Add(n)
	done.Add(n)
	release := make(chan struct{})
	for range n {
		go func() {
			defer done.Done()
			runtime.LockOSThread() // a thread of its own, parked below
			locked.Done()
			<-release
			runtime.UnlockOSThread() // back to the pool, not ended
		}()
	}
	locked.Wait()
	close(release)
	done.Wait()
}
