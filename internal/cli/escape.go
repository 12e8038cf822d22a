package cli

import (
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Text from Vault (secret keys and values, list entries, error messages,
// warnings) is untrusted: written raw, an ESC or CSI sequence in it could
// recolour the terminal, move the cursor over earlier lines, retitle the
// window or, on some terminals, answer back into the shell. Every text output
// goes through escape; JSON goes through jsonSafe; YAML needs nothing
// (go.yaml.in/yaml/v3 double-quotes and escapes any control character).

// isControl reports the runes a terminal may act on: C0 controls, DEL and
// the C1 controls U+0080-U+009F (CSI is U+009B).
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f }

// escape makes s safe to print on a terminal: control characters and bytes
// that are not UTF-8 become visible escapes (ESC as \x1b, CR as \r, CSI as
// \u009b, a stray byte as \xff). With keepLines, newlines and tabs stay as
// they are, for a value printed on its own; without, they are escaped too,
// for a table cell or a line of its own kind (an error, a list entry).
// Backslashes are left alone: the result is for reading, not for parsing.
func escape(s string, keepLines bool) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if isControl(r) && !(keepLines && (r == '\n' || r == '\t')) || r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	if i == len(s) {
		return s // the common case: nothing to escape, no copy
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case keepLines && (r == '\n' || r == '\t'), !isControl(r):
			b.WriteString(s[i : i+size])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		default:
			b.WriteString(`\u00`)
			b.WriteString(hex2(byte(r)))
		}
		i += size
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// jsonSafe rewrites the control characters encoding/json leaves raw (DEL and
// the C1 controls: it escapes only C0) as \u escapes. The JSON means the
// same: those runes can only occur inside strings, where \u007f and \u007F
// are equivalent to the raw rune. It expects encoding/json's output (valid
// UTF-8).
func jsonSafe(b []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x7f && r <= 0x9f {
			if out == nil {
				out = make([]byte, 0, len(b)+16)
			}
			out = append(out, b[last:i]...)
			out = append(out, `\u00`...)
			out = append(out, hex2(byte(r))...)
			last = i + size
		}
		i += size
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// isTerminal reports whether w is a terminal: a writer with *os.File's Stat
// method whose file is a character device. Anything else (a pipe, a file, a
// test's buffer) is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// asked is a value the user asked for by name (-field, the env format): raw
// when w is a pipe or a file, since a script or a file wants the bytes;
// escaped, keeping its lines, when w is a terminal.
func asked(w io.Writer, s string) string {
	if isTerminal(w) {
		return escape(s, true)
	}
	return s
}
