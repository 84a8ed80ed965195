package capture

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type piece struct {
	line    string
	partial bool
}

// feedAll feeds chunks to a fresh stream and returns what it emitted.
func feedAll(chunks ...string) ([]piece, *stream) {
	var out []piece
	st := &stream{}
	for _, c := range chunks {
		st.feed([]byte(c), func(l []byte, partial bool) { out = append(out, piece{string(l), partial}) })
	}
	return out, st
}

func TestFeed(t *testing.T) {
	long := strings.Repeat("x", MaxLine)
	tests := []struct {
		name   string
		chunks []string
		want   []piece
		left   string
	}{
		{"lines", []string{"a\nb\n"}, []piece{{"a", false}, {"b", false}}, ""},
		{"split across reads", []string{"he", "llo\nwo"}, []piece{{"hello", false}}, "wo"},
		{"empty line", []string{"\n"}, []piece{{"", false}}, ""},
		{"exactly MaxLine", []string{long + "\n"}, []piece{{long, false}}, ""},
		{"MaxLine+1", []string{long + "y\n"}, []piece{{long, true}, {"y", false}}, ""},
		{"long across reads", []string{long[:10], long[10:] + "z"}, []piece{{long, true}}, "z"},
		{"no newline", []string{"abc"}, nil, "abc"},
		{"cut between characters", []string{long[:MaxLine-1] + "\u20ac\n"}, []piece{{long[:MaxLine-1], true}, {"\u20ac", false}}, ""},
		{"character across reads", []string{long[:MaxLine-2], "\u20ac\u20acz"}, []piece{{long[:MaxLine-2], true}}, "\u20ac\u20acz"},
		{"a character's start kept for the next piece", []string{long[:MaxLine-1] + "\xe2\xe2\n"}, []piece{{long[:MaxLine-1], true}, {"\xe2\xe2", false}}, ""},
		{"invalid bytes cut anywhere", []string{long[:MaxLine-1] + "\x82\x82\n"}, []piece{{long[:MaxLine-1] + "\x82", true}, {"\x82", false}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := feedAll(tt.chunks...)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d pieces, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("piece %d: %.20q %v, want %.20q %v", i, got[i].line, got[i].partial, tt.want[i].line, tt.want[i].partial)
				}
			}
			if string(st.part) != tt.left {
				t.Errorf("left %q, want %q", st.part, tt.left)
			}
		})
	}
}

func TestAppendText(t *testing.T) {
	if got := string(appendText(nil, "web", []byte("hi"), false)); got != "web| hi\n" {
		t.Errorf("%q", got)
	}
	if got := string(appendText(nil, "web", []byte("hi"), true)); got != "web+ hi\n" {
		t.Errorf("%q", got)
	}
}

// FuzzCapture feeds any bytes, cut anywhere, and checks that the pieces
// put back together are the input, that no piece is longer than MaxLine,
// that each JSON object is valid and holds its piece (invalid UTF-8
// replaced, as encoding/json does), and that valid UTF-8 is cut between
// characters only.
func FuzzCapture(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), uint16(3))
	f.Add([]byte("a\xffb\x00\"\\\u2028\n"), uint16(1))
	f.Add(bytes.Repeat([]byte("y"), 3*MaxLine+5), uint16(1000))
	f.Add([]byte(strings.Repeat("\u20ac", 3*MaxLine)), uint16(4095))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		st := &stream{}
		var joined []byte
		valid := utf8.Valid(data)
		check := func(l []byte, partial bool) {
			if len(l) > MaxLine {
				t.Fatalf("piece of %d bytes", len(l))
			}
			if valid && !utf8.Valid(l) {
				t.Fatalf("valid UTF-8 cut inside a character: piece ends %q", l[max(len(l)-4, 0):])
			}
			joined = append(joined, l...)
			if !partial {
				joined = append(joined, '\n')
			}
			checkJSON(t, l, partial)
		}
		k := int(cut)%max(len(data), 1) + 1
		for rest := data; len(rest) > 0; {
			n := min(k, len(rest))
			st.feed(rest[:n], check)
			rest = rest[n:]
		}
		st.flush(check)
		if !bytes.Equal(joined, data) {
			t.Fatalf("joined %q, fed %q", joined, data)
		}
	})
}

func checkJSON(t *testing.T, line []byte, partial bool) {
	b := appendJSON(nil, time.Unix(0, 0), "web", "stdout", line, partial)
	var m struct {
		Server, Stream, Line string
		Partial              bool
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	want, _ := json.Marshal(string(line)) // encoding/json's own replacement of invalid UTF-8
	var ws string
	_ = json.Unmarshal(want, &ws)
	if m.Line != ws || m.Server != "web" || m.Stream != "stdout" || m.Partial != partial || bytes.Count(b, []byte("\n")) != 1 {
		t.Fatalf("%q read back as %+v", b, m)
	}
}
