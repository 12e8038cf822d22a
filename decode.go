package gdsvault

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Decoding by hand, for the answers every read decodes. encoding/json
// decodes through reflection: on an uncached KV read it was the client's
// largest cost besides the kernel's (~14 µs of ~100 µs of CPU per read on
// the benchmark machine, and a third of the allocations). The decoders
// here take the usual shape of an answer and give up on anything else,
// which encoding/json then decodes: the result is always encoding/json's
// (FuzzKVWire and FuzzSecretDataUnmarshal compare the two).

// decodeAnswer decodes a successful answer into out, as json.Unmarshal
// does; an answer of the usual shape for out's type is decoded by hand.
func decodeAnswer(b []byte, out any) error {
	if w, ok := out.(*kvWire); ok && json.Valid(b) {
		if w.decode(b) {
			return nil
		}
		*w = kvWire{}
	}
	return json.Unmarshal(b, out)
}

// The keys kvWire.decode knows, as bits of the set of keys seen.
const (
	keyLeaseID = 1 << iota
	keyLeaseDuration
	keyRenewable
	keyData
	keyWarnings
	keyDataData
	keyMetadata
	keyVersion
	keyCreated
	keyDeletion
	keyDestroyed
	keyCustom
)

// decode decodes valid JSON b into w (which is zero) when it has the usual
// shape; false leaves it to encoding/json (a key twice, a key that matches
// a field only without regard to case, a string with escapes, a value of
// an unexpected type, a nested secret...). It never panics, whatever b.
func (w *kvWire) decode(b []byte) bool {
	d := decoder{b: b}
	var seen int
	see := func(k int) bool {
		if seen&k != 0 {
			return false // encoding/json merges repeated objects: leave it that
		}
		seen |= k
		return true
	}
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "lease_id":
			return see(keyLeaseID) && d.str(&w.LeaseID)
		case "lease_duration":
			return see(keyLeaseDuration) && d.int(&w.LeaseDuration)
		case "renewable":
			return see(keyRenewable) && d.bool(&w.Renewable)
		case "warnings":
			return see(keyWarnings) && d.strings(&w.Warnings)
		case "data":
			if !see(keyData) {
				return false
			}
			if d.null() {
				return true
			}
			return d.object(func(key []byte) bool {
				switch string(key) {
				case "data":
					end, ok := d.skip()
					if !ok || !see(keyDataData) {
						return false
					}
					m, ok := decodeFlat(d.b[d.i:end])
					w.Data.Data, d.i = m, end
					return ok
				case "metadata":
					return see(keyMetadata) && w.Data.Metadata.decode(&d, see)
				}
				return d.other(key, "data", "metadata")
			})
		}
		return d.other(key, "lease_id", "lease_duration", "renewable", "warnings", "data")
	})
}

// decode decodes a KV v2 version's metadata.
func (v *wireVersion) decode(d *decoder, see func(int) bool) bool {
	if d.null() {
		return true
	}
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "version":
			return see(keyVersion) && d.int(&v.Version)
		case "destroyed":
			return see(keyDestroyed) && d.bool(&v.Destroyed)
		case "created_time":
			return see(keyCreated) && d.time(&v.CreatedTime)
		case "deletion_time":
			return see(keyDeletion) && d.time(&v.DeletionTime)
		case "custom_metadata":
			return see(keyCustom) && d.stringMap(&v.CustomMetadata)
		}
		return d.other(key, "version", "destroyed", "created_time", "deletion_time", "custom_metadata")
	})
}

// decoder reads JSON b from i.
type decoder struct {
	b []byte
	i int
}

// peek is the byte at i, 0 at the end.
func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// object reads an object, calling field with each key, the decoder at the
// key's value (which field must read). It returns false when b[i] is not
// an object or field returned false.
func (d *decoder) object(field func(key []byte) bool) bool {
	d.i = skipSpace(d.b, d.i)
	if d.peek() != '{' {
		return false
	}
	d.i = skipSpace(d.b, d.i+1)
	if d.peek() == '}' {
		d.i++
		return true
	}
	for {
		ks, ke, next, ok := flatString(d.b, d.i)
		if !ok {
			return false
		}
		d.i = skipSpace(d.b, next)
		if d.peek() != ':' {
			return false
		}
		d.i = skipSpace(d.b, d.i+1)
		if !field(d.b[ks:ke]) {
			return false
		}
		d.i = skipSpace(d.b, d.i)
		switch d.peek() {
		case '}':
			d.i++
			return true
		case ',':
			d.i = skipSpace(d.b, d.i+1)
		default:
			return false
		}
	}
}

// other skips the value of a key that is none of the known keys; false
// when key could match one of them without regard to case (encoding/json
// would decode it into that field).
func (d *decoder) other(key []byte, known ...string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return false // leave Unicode case folding to encoding/json
		}
	}
	for _, k := range known {
		if equalFoldASCII(key, k) {
			return false
		}
	}
	end, ok := d.skip()
	d.i = end
	return ok
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// skip returns the index after the value at i, without checking it.
func (d *decoder) skip() (int, bool) {
	b, i := d.b, skipSpace(d.b, d.i)
	if i == len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j, true
}

// stringEnd returns the index after the string that starts at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// null reads a null.
func (d *decoder) null() bool {
	if hasWord(d.b, d.i, "null") {
		d.i += 4
		return true
	}
	return false
}

// str reads a string without escapes (null leaves dst as it is, as
// encoding/json does).
func (d *decoder) str(dst *string) bool {
	if d.null() {
		return true
	}
	s, e, next, ok := flatString(d.b, d.i)
	if !ok {
		return false
	}
	*dst, d.i = string(d.b[s:e]), next
	return true
}

// int reads an integer that fits an int (null: no change).
func (d *decoder) int(dst *int) bool {
	if d.null() {
		return true
	}
	end, ok := d.skip()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(d.b[d.i:end]), 10, 0)
	if err != nil {
		return false // a fraction, an exponent, a string...: encoding/json's error
	}
	*dst, d.i = int(n), end
	return true
}

// bool reads true or false (null: no change).
func (d *decoder) bool(dst *bool) bool {
	switch {
	case d.null():
	case hasWord(d.b, d.i, "true"):
		*dst, d.i = true, d.i+4
	case hasWord(d.b, d.i, "false"):
		*dst, d.i = false, d.i+5
	default:
		return false
	}
	return true
}

// time reads any value into a wireTime, as encoding/json would: the value
// as it is, to wireTime.UnmarshalJSON.
func (d *decoder) time(dst *wireTime) bool {
	end, ok := d.skip()
	if !ok {
		return false
	}
	_ = dst.UnmarshalJSON(d.b[d.i:end]) // never fails
	d.i = end
	return true
}

// strings reads null or an array of strings without escapes.
func (d *decoder) strings(dst *[]string) bool {
	if d.null() {
		*dst = nil
		return true
	}
	if d.peek() != '[' {
		return false
	}
	d.i = skipSpace(d.b, d.i+1)
	out := []string{}
	if d.peek() == ']' {
		*dst, d.i = out, d.i+1
		return true
	}
	for {
		var s string
		if d.peek() != '"' || !d.str(&s) {
			return false
		}
		out = append(out, s)
		d.i = skipSpace(d.b, d.i)
		switch d.peek() {
		case ']':
			*dst, d.i = out, d.i+1
			return true
		case ',':
			d.i = skipSpace(d.b, d.i+1)
		default:
			return false
		}
	}
}

// stringMap reads null or an object of strings without escapes.
func (d *decoder) stringMap(dst *map[string]string) bool {
	if d.null() {
		*dst = nil
		return true
	}
	m := map[string]string{}
	ok := d.object(func(key []byte) bool {
		if _, dup := m[string(key)]; dup || d.peek() != '"' {
			return false
		}
		var v string
		if !d.str(&v) {
			return false
		}
		m[string(key)] = v
		return true
	})
	*dst = m
	return ok
}

// decodeFlat decodes b when it is null or a flat JSON object (see
// SecretData.UnmarshalJSON); ok is false for anything else, valid JSON or
// not, which the caller leaves to encoding/json.
func decodeFlat(b []byte) (m map[string]any, ok bool) {
	i := skipSpace(b, 0)
	if string(b[i:]) == "null" || len(b)-i > 4 && string(b[i:i+4]) == "null" && skipSpace(b, i+4) == len(b) {
		return nil, true
	}
	if i == len(b) || b[i] != '{' {
		return nil, false
	}
	type pair struct {
		k string
		v any
	}
	var small [16]pair
	pairs := small[:0]
	all := "" // string(b), made at the first key: every key and text value is a slice of it
	str := func(start, end int) string {
		if all == "" {
			all = string(b)
		}
		return all[start:end]
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return map[string]any{}, skipSpace(b, i+1) == len(b)
	}
	for {
		// "key"
		ks, ke, next, ok := flatString(b, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(b, next)
		if i == len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		if i == len(b) {
			return nil, false
		}
		var v any
		switch c := b[i]; {
		case c == '"':
			vs, ve, next, ok := flatString(b, i)
			if !ok {
				return nil, false
			}
			v, i = str(vs, ve), next
		case c == '-' || '0' <= c && c <= '9':
			end, ok := numberEnd(b, i)
			if !ok {
				return nil, false
			}
			f, err := strconv.ParseFloat(string(b[i:end]), 64)
			if err != nil {
				return nil, false // out of range: encoding/json's error
			}
			v, i = f, end
		case hasWord(b, i, "true"):
			v, i = true, i+4
		case hasWord(b, i, "false"):
			v, i = false, i+5
		case hasWord(b, i, "null"):
			v, i = nil, i+4
		default:
			return nil, false // an object, an array, or not JSON
		}
		pairs = append(pairs, pair{str(ks, ke), v})
		i = skipSpace(b, i)
		if i == len(b) {
			return nil, false
		}
		if b[i] == '}' {
			if skipSpace(b, i+1) != len(b) {
				return nil, false
			}
			break
		}
		if b[i] != ',' {
			return nil, false
		}
		i = skipSpace(b, i+1)
	}
	m = make(map[string]any, len(pairs))
	for _, p := range pairs {
		m[p.k] = p.v // a repeated key: the last one wins, as in encoding/json
	}
	return m, true
}

// flatString reads the JSON string at b[i] ('"'): the bounds of its text
// and the index after it. ok is false for an escape, a control character
// or invalid UTF-8 (which encoding/json would decode or replace).
func flatString(b []byte, i int) (start, end, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, 0, false
	}
	start = i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:j]) {
				return 0, 0, 0, false
			}
			return start, j, j + 1, true
		case c == '\\' || c < ' ':
			return 0, 0, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, 0, 0, false
}

// numberEnd returns the index after the JSON number at b[i], checked
// against JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func hasWord(b []byte, i int, w string) bool {
	return len(b)-i >= len(w) && string(b[i:i+len(w)]) == w
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
