package gdsvault

import (
	"encoding/json"
	"reflect"
	"testing"
)

// vaultKVAnswer is Vault 1.21's answer to a KV v2 read.
const vaultKVAnswer = `{"request_id":"6f0d5f7c-2b0e-8f6c-7c1a-0d4b0b8c9d1e","lease_id":"","renewable":false,"lease_duration":0,` +
	`"data":{"data":{"db_host":"postgres.example.com","db_pass":"secret123","db_user":"myapp"},` +
	`"metadata":{"created_time":"2026-12-03T10:07:00.971778423Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}},` +
	`"wrap_info":null,"warnings":null,"auth":null,"mount_type":"kv"}` + "\n"

// TestKVWire: the hand decoder takes Vault's usual answers and gives the
// rest to encoding/json; either way the result is encoding/json's.
func TestKVWire(t *testing.T) {
	tests := []struct {
		in   string
		fast bool
	}{
		{vaultKVAnswer, true},
		{`{"lease_id":"l","lease_duration":30,"renewable":true,"warnings":["w1","w2"],"data":{"data":{"a":1},` +
			`"metadata":{"version":3,"created_time":"2026-01-02T03:04:05+01:00","deletion_time":"2026-01-03T00:00:00Z",` +
			`"destroyed":true,"custom_metadata":{"rotation_schedule":"@daily","owner":"team"}}}}`, true},
		{`{"data":null,"warnings":[]}`, true},
		{`{"data":{"data":null,"metadata":null}}`, true},
		{`{}`, true},
		{`{"data":{"data":{"nested":{"a":"b"}}}}`, false}, // a nested secret: encoding/json
		{`{"data":{"data":{"a":"line\nbreak"}}}`, false},  // an escape
		{`{"Lease_ID":"x"}`, false},                       // a key that matches a field without regard to case
		{`{"lease_id":"a","lease_id":"b"}`, false},        // a key twice
		{`{"lease_duration":1.5}`, false},                 // not an int: encoding/json's error
		{`{"lease_duration":"30"}`, false},                // nor that
		{`{"warnings":["a",null]}`, false},                // a null in the array
		{`{"data":{"metadata":{"custom_metadata":{"a":null}}}}`, false},
		{`{"data":{"metadata":{"created_time":17}}}`, true}, // wireTime takes anything: no time
		{`null`, false},
		{`[]`, false},
	}
	for _, tt := range tests {
		var w kvWire
		if got := w.decode([]byte(tt.in)); got != tt.fast {
			t.Errorf("%s: decoded by hand %v, want %v", tt.in, got, tt.fast)
		}
		var fast, std kvWire
		errF := decodeAnswer([]byte(tt.in), &fast)
		errS := json.Unmarshal([]byte(tt.in), &std)
		if (errF != nil) != (errS != nil) || errF == nil && !reflect.DeepEqual(fast, std) {
			t.Errorf("%s:\n got  %+v, %v\n want %+v, %v", tt.in, fast, errF, std, errS)
		}
	}
}

// FuzzKVWire: whatever the answer, decodeAnswer gives what encoding/json
// gives, and the hand decoder never panics.
func FuzzKVWire(f *testing.F) {
	for _, s := range []string{vaultKVAnswer, `{"data":{"data":{"a":"b"},"metadata":{"version":2}}}`, `{"warnings":["x"]}`,
		`{"data":{"metadata":{"custom_metadata":{"k":"v"}}}}`, `{"lease_duration":9223372036854775808}`, `{"Data":{}}`,
		`{"data":{"data":{"a":{"b":1}}}}`, `{"x":[1,{"y":"}"}],"lease_id":"\u0041"}`, `{"renewable":null,"lease_id":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var w kvWire
		w.decode(b) // must not panic, valid JSON or not
		var fast, std kvWire
		errF := decodeAnswer(b, &fast)
		errS := json.Unmarshal(b, &std)
		if (errF != nil) != (errS != nil) {
			t.Fatalf("%q: error %v, encoding/json's %v", b, errF, errS)
		}
		if errF == nil && !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q:\n got  %+v\n want %+v", b, fast, std)
		}
	})
}

// BenchmarkKVWire decodes Vault's usual answer, by hand and with
// encoding/json.
func BenchmarkKVWire(b *testing.B) {
	in := []byte(vaultKVAnswer)
	for _, bb := range []struct {
		name   string
		decode func([]byte, any) error
	}{{"hand", decodeAnswer}, {"encoding-json", json.Unmarshal}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var w kvWire
				if err := bb.decode(in, &w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
