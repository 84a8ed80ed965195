package marshal

import (
	"strings"
	"testing"
)

func TestDecodeRefusesSystemd(t *testing.T) {
	for _, tt := range []struct {
		name string
		pet  any
	}{
		{"negative", int64(-1)},
		{"over the limit", int64(MaxSystemdNs + 1)},
		{"2^64-1", uint64(1<<64 - 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := rawMap(t, sample(t, "events"))
			m["systemd"].(map[string]any)["pet"] = tt.pet
			_, err := Decode(encodeRaw(t, m))
			if err == nil || !strings.HasPrefix(err.Error(), "marshal: systemd: last keepalive") {
				t.Fatalf("Decode error %v, want a refused keepalive time", err)
			}
		})
	}
}

// TestDecodeWithoutSystemd: a snapshot of an older binary, which has no
// notify section, decodes to none.
func TestDecodeWithoutSystemd(t *testing.T) {
	m := rawMap(t, sample(t, "events"))
	delete(m, "systemd")
	got, err := Decode(encodeRaw(t, m))
	if err != nil || got.Systemd != nil {
		t.Fatalf("Decode = %+v, %v; want no systemd section", got.Systemd, err)
	}
}
