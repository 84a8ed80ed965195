package watch

import "testing"

// TestFilterShape: the program the kernel will accept (at most
// BPF_MAXINSNS, 4096, instructions) for any list up to MaxFilterPids and
// beyond, with no jump near the 8-bit limit; bad pids are refused. What
// the program keeps is tested on the kernel (TestIntegrationFilter*).
func TestFilterShape(t *testing.T) {
	tests := []struct {
		name string
		pids []int
		ok   bool
	}{
		{"none", nil, true},
		{"one", []int{1}, true},
		{"max", fakePidList(MaxFilterPids), true},
		{"over max", fakePidList(MaxFilterPids + 1), true},
		{"pid 0", []int{5, 0}, false},
		{"negative", []int{-1}, false},
		{"over 32 bits", []int{1 << 31}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := Filter(tt.pids)
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want ok %v", err, tt.ok)
			}
			if len(prog) > 4096 {
				t.Errorf("%d instructions", len(prog))
			}
			for i, ins := range prog {
				if ins.Jt > 2 || ins.Jf > 2 {
					t.Errorf("instruction %d jumps %d/%d", i, ins.Jt, ins.Jf)
				}
			}
		})
	}
}

// fakePidList is n distinct pids above any pid_max (4194304).
func fakePidList(n int) []int {
	pids := make([]int, n)
	for i := range pids {
		pids[i] = 1<<30 + i
	}
	return pids
}

// TestBigEndianLoad: be gives what a classic BPF load (big-endian) reads
// from the bytes of v written in host order.
func TestBigEndianLoad(t *testing.T) {
	b := ne.AppendUint32(nil, 0x80000000)
	if got := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]); got != be(0x80000000) {
		t.Errorf("a load reads %#x, be gives %#x", got, be(0x80000000))
	}
}
