//go:build linux

package acct

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// FuzzScan feeds scan, the daemon's reader of the source, any bytes: it
// must keep only whole, decodable records, in order, and never panic.
func FuzzScan(f *testing.F) {
	for _, name := range []string{"exit3", "all-and-partial"} {
		var b []byte
		text, err := os.ReadFile(seedDir + "/" + name)
		if err == nil {
			_, err = fmt.Sscanf(string(text), "go test fuzz v1\n[]byte(%q)\n", &b)
		}
		if err != nil {
			f.Fatalf("seed %s: %v", name, err)
		}
		f.Add(b)
	}
	f.Add(make([]byte, 3*Size))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := newDaemon(withDefaults(Config{}))
		d.wants[1] = time.Unix(0, 0)
		b = b[:len(b)-len(b)%Size]
		in := len(b) / Size
		out := d.scan(append([]byte(nil), b...))
		if len(out)%Size != 0 || len(out)/Size+int(d.stats.Bad) > in {
			t.Fatalf("%d records in, %d out and %d bad", in, len(out)/Size, d.stats.Bad)
		}
		if _, rest, err := ParseAll(nil, out); err != nil || len(rest) != 0 {
			t.Fatalf("scan kept bytes that do not parse: %v", err)
		}
	})
}
