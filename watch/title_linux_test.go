package watch

import "testing"

// TestTitled: a command line a process wrote a title over is told from
// its arguments, argv[0] being free.
func TestTitled(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want bool
	}{
		{"arguments", "/usr/sbin/nginx\x00-c\x00/etc/nginx.conf\x00", false},
		{"argv0 alone", "nginx: master process\x00", false},
		{"argv0 is free", "argv0 is free\x00-c\x00x\x00", false},
		{"an empty argument", "sh\x00-c\x00\x00", false},
		{"title in place", "nginx: master process /usr/sbin/nginx\x00\x00\x00\x00", true},
		{"title past the end", "chrome --type=renderer --lang=en", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.b)
			if got := titled(b, splitNul(b, false)); got != tt.want {
				t.Errorf("titled(%q) = %v, want %v", tt.b, got, tt.want)
			}
		})
	}
}
