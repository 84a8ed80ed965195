package capture

import (
	"bytes"
	"time"
	"unicode/utf8"
)

// feed cuts data, the next bytes of st's pipe, into lines and calls emit
// with each line ended (without its newline) or each piece of MaxLine
// bytes of a longer one (partial; up to 3 bytes fewer to end between two
// UTF-8 characters). What is left without a newline waits
// in st.part for the next call. The slice given to emit is valid only
// during the call.
func (st *stream) feed(data []byte, emit func(line []byte, partial bool)) {
	for len(data) > 0 {
		room := MaxLine - len(st.part)
		look := data[:min(len(data), room+1)]
		if i := bytes.IndexByte(look, '\n'); i >= 0 {
			st.emitPart(data[:i], false, emit)
			data = data[i+1:]
			continue
		}
		if len(data) <= room {
			st.part = append(st.part, data...)
			return
		}
		if len(st.part) == 0 {
			cut := runeCut(data[:room])
			emit(data[:cut], true)
			data = data[cut:]
			continue
		}
		piece := append(st.part, data[:room]...)
		cut := runeCut(piece)
		emit(piece[:cut], true)
		st.part = nil
		if cut < len(piece) {
			st.part = append([]byte(nil), piece[cut:]...)
		}
		data = data[room:]
	}
}

// runeCut is where to end a piece that would end with b: before a UTF-8
// sequence b ends in the middle of, so that valid UTF-8 is not cut inside
// a character (a JSON piece would show it as two U+FFFD). A piece so ends
// up to 3 bytes short of MaxLine, never empty; invalid bytes are cut
// anywhere.
func runeCut(b []byte) int {
	for i := len(b) - 1; i > 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if b[i] >= utf8.RuneSelf && !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

// emitPart emits st.part followed by b, and forgets st.part: a stream
// that is not in the middle of a line holds no memory.
func (st *stream) emitPart(b []byte, partial bool, emit func([]byte, bool)) {
	if len(st.part) == 0 {
		emit(b, partial)
		return
	}
	st.part = append(st.part, b...)
	emit(st.part, partial)
	st.part = nil
}

// flush emits the line not yet ended as a partial piece, for a live
// upgrade: the new image writes the rest.
func (st *stream) flush(emit func([]byte, bool)) {
	if len(st.part) > 0 {
		emit(st.part, true)
		st.part = nil
	}
}

// appendText appends "server| line\n", or "server+ piece\n" for a piece
// of a longer line that the next one continues.
func appendText(b []byte, server string, line []byte, partial bool) []byte {
	b = append(b, server...)
	if partial {
		b = append(b, "+ "...)
	} else {
		b = append(b, "| "...)
	}
	b = append(b, line...)
	return append(b, '\n')
}

// appendJSON appends one JSON object and a newline:
// {"time":...,"server":...,"stream":...,"line":...}, with "partial":true
// for a piece of a longer line that the next object continues. Any bytes
// make valid JSON: invalid UTF-8 becomes U+FFFD.
func appendJSON(b []byte, t time.Time, server, stream string, line []byte, partial bool) []byte {
	b = append(b, `{"time":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","server":`...)
	b = appendString(b, []byte(server))
	b = append(b, `,"stream":"`...)
	b = append(b, stream...)
	b = append(b, `","line":`...)
	b = appendString(b, line)
	if partial {
		b = append(b, `,"partial":true`...)
	}
	return append(b, "}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b, s []byte) []byte {
	b = append(b, '"')
	for len(s) > 0 {
		c := s[0]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			s = s[1:]
			continue
		}
		if c < utf8.RuneSelf {
			b = appendEscape(b, c)
			s = s[1:]
			continue
		}
		r, n := utf8.DecodeRune(s)
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // valid JSON, but not JavaScript
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			b = append(b, s[:n]...)
		}
		s = s[n:]
	}
	return append(b, '"')
}

// appendEscape appends the escape of an ASCII byte JSON does not take raw.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
