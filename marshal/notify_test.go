package marshal

import (
	"strings"
	"testing"
)

func TestDecodeRefusesNotify(t *testing.T) {
	for _, tt := range []struct {
		name string
		pet  any
	}{
		{"negative", int64(-1)},
		{"over the limit", int64(MaxNotifyNs + 1)},
		{"2^64-1", uint64(1<<64 - 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := rawMap(t, sample(t, "events"))
			m["notify"].(map[string]any)["pet"] = tt.pet
			_, err := Decode(encodeRaw(t, m))
			if err == nil || !strings.HasPrefix(err.Error(), "marshal: notify: last keepalive") {
				t.Fatalf("Decode error %v, want a refused keepalive time", err)
			}
		})
	}
}

// TestDecodeWithoutNotify: a snapshot of an older binary, which has no
// notify section, decodes to none.
func TestDecodeWithoutNotify(t *testing.T) {
	m := rawMap(t, sample(t, "events"))
	delete(m, "notify")
	got, err := Decode(encodeRaw(t, m))
	if err != nil || got.Notify != nil {
		t.Fatalf("Decode = %+v, %v; want no notify section", got.Notify, err)
	}
}
