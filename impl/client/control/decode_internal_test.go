package control

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeRequest: any bytes on the socket decode to a request or fail with an error, never
// a panic; a request that decodes encodes back to one that decodes the same.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"cmd":"send","to":"bob","texts":["hi"]}`))
	f.Add([]byte(`{"cmd":"trust","peer":"bob","fingerprint":"sha256:00"}`))
	f.Add([]byte(`{"cmd":"send","extra":1}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeRequest(bytes.NewReader(again))
		if err != nil || back.Cmd != req.Cmd || back.To != req.To || len(back.Texts) != len(req.Texts) {
			t.Fatalf("%s decoded to %+v, re-encoded %s to %+v, %v", data, req, again, back, err)
		}
	})
}
