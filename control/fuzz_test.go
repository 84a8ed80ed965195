package control

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeRequest feeds the request decoder outside bytes: it must never
// panic, must wrap every error in ErrBadRequest or ErrTooLong, and what it
// accepts must be a request that encodes and decodes back to itself.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"cmd":"list"}`,
		`{"cmd":"status","target":"web"}`,
		`{"cmd":"signal","target":"2","signal":"HUP"}`,
		`{"cmd":"revive"}`,
		`{"cmd":"events"}`,
		`{"cmd":"events","after":18446744073709551615}`,
		`{"cmd":"stop","target":"web","wait":true}`,
		`{"cmd":"restart","target":"nginx"}`,
		`{"cmd":"reload","target":"1"}`,
		`{"cmd":"shutdown"}`,
		`{"cmd":"watch","rule":"exe:/usr/sbin/* (notify)"}`,
		`{"cmd":"watch","rule":"4242"}`,
		`{"cmd":"unwatch","rule":"regex:^python3 .*worker"}`,
		`{"cmd":"watch-reload"}`,
		`{"cmd":"watched"}`,
		`{"cmd":"list"} {}`,
		`null`,
		"\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeRequest(line)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrTooLong) {
				t.Fatalf("error %v wraps neither ErrBadRequest nor ErrTooLong", err)
			}
			return
		}
		if _, ok := commands[req.Cmd]; !ok {
			t.Fatalf("accepted unknown command %q", req.Cmd)
		}
		if len(req.Target) > MaxTarget {
			t.Fatalf("accepted a target of %d bytes", len(req.Target))
		}
		if req.Signal != "" && (req.sig < 1 || req.sig > maxSignal) {
			t.Fatalf("accepted signal %q as %d", req.Signal, req.sig)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeRequest(b)
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("%q decoded to %+v, which re-encodes to %q and decodes to %+v, %v", line, req, b, again, err)
		}
	})
}
