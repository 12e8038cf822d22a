package gdsvault

import (
	"encoding/json"
	"reflect"
	"testing"
)

// stdDecode is what encoding/json makes of b as a map[string]any.
func stdDecode(b []byte) (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(b, &m)
	return m, err
}

// TestSecretDataUnmarshal: SecretData decodes to what encoding/json makes of
// a map[string]any, by hand for flat objects and by encoding/json for the
// rest.
func TestSecretDataUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		flat bool // decoded by hand
	}{
		{`{"db_host":"postgres.example.com","db_user":"myapp","db_pass":"secret123"}`, true},
		{` { "a" : "b" , "n" : -1.5e3 , "t" : true , "f" : false , "z" : null , "i" : 0 } `, true},
		{`{}`, true},
		{` { } `, true},
		{`null`, true},
		{` null `, true},
		{`{"a":"x","a":"y"}`, true}, // the last one wins
		{`{"ünï":"cødé ✓"}`, true},
		{`{"n":1e308,"m":-0,"o":0.5,"p":12345678901234567890}`, true},
		{`{"a":"line\nbreak"}`, false},
		{`{"a":"\u00e9"}`, false},
		{`{"a\"b":"c"}`, false},
		{"{\"a\":\"\xff\"}", false}, // invalid UTF-8: encoding/json writes U+FFFD
		{`{"nested":{"a":"b"}}`, false},
		{`{"list":["a",1]}`, false},
		{`{"n":1e400}`, false}, // out of range: encoding/json's error
	}
	for _, tt := range tests {
		want, werr := stdDecode([]byte(tt.in))
		if _, ok := decodeFlat([]byte(tt.in)); ok != tt.flat {
			t.Errorf("%s: decoded by hand %v, want %v", tt.in, ok, tt.flat)
		}
		var got SecretData
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(map[string]any(got), want) {
			t.Errorf("%s: got %#v, %v; want %#v, %v", tt.in, map[string]any(got), err, want, werr)
		}
	}
}

// TestSecretDataUnmarshalMerges: like encoding/json with a map, decoding
// into a SecretData that is not nil adds to it; null makes it nil.
func TestSecretDataUnmarshalMerges(t *testing.T) {
	d := SecretData{"kept": "1", "a": "old"}
	if err := json.Unmarshal([]byte(`{"a":"new","b":2}`), &d); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(map[string]any(d), map[string]any{"kept": "1", "a": "new", "b": 2.0}) {
		t.Errorf("merged: %#v", map[string]any(d))
	}
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d != nil {
		t.Errorf("null: %#v, %v", d, err)
	}
	var s struct{ D SecretData }
	if err := json.Unmarshal([]byte(`{"D":"not an object"}`), &s); err == nil {
		t.Error("a string decoded as SecretData")
	}
}

// FuzzSecretDataUnmarshal: whatever the input, SecretData decodes it as
// encoding/json decodes a map[string]any, and decodeFlat, called on its
// own, accepts only what encoding/json accepts, to the same map.
func FuzzSecretDataUnmarshal(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":1,"b":true,"c":null}`, `{}`, `null`, `{"a":"\n"}`, `{"a":{"b":1}}`,
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":"b",}`, `{"a" "b"}`, `{"a":tru}`, `{"a":"b"}x`, "{\"\xff\":1}", `[1]`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := stdDecode(b)
		var got SecretData
		err := json.Unmarshal(b, &got)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%q: error %v, encoding/json's %v", b, err, werr)
		}
		if err == nil && !reflect.DeepEqual(map[string]any(got), want) {
			t.Fatalf("%q: %#v, encoding/json's %#v", b, map[string]any(got), want)
		}
		if m, ok := decodeFlat(b); ok {
			if werr != nil || !reflect.DeepEqual(m, want) {
				t.Fatalf("%q: decodeFlat accepted %#v; encoding/json: %#v, %v", b, m, want, werr)
			}
		}
	})
}
