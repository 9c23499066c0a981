package hostile

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/blindpost/blindpost/impl/wire"
)

func encode(t *testing.T, m wire.Message) []byte {
	t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bases are valid messages of several shapes: nested payloads, arrays, every base64 size.
func bases(t *testing.T) map[string][]byte {
	b := func(n int) []byte { return bytes.Repeat([]byte{0xa5}, n) }
	return map[string][]byte{
		"hello":    encode(t, &wire.Hello{ID: "1", Protocol: "blindpost/1", User: "alice"}),
		"register": encode(t, &wire.Register{ID: "2", IdentityKey: b(32), GroupKey: b(32), GroupKeySig: b(64), Proof: b(64)}),
		"relay-hs1": encode(t, &wire.Relay{ID: "3", To: "bob", Session: b(16),
			Payload: &wire.HS1{Suites: []string{"x25519-hkdf-sha256-aes256gcm"}, E: b(32)}}),
		"relay-msg": encode(t, &wire.Relay{To: "bob", Session: b(16), Payload: &wire.MsgRecord{N: 3, Ct: b(20)}}),
		"group_commit": encode(t, &wire.GroupCommit{Commit: wire.Commit{Group: "g", Epoch: 1, Committer: "a",
			Members: []wire.CommitMember{{User: "a", IdentityKey: b(32), GroupKey: b(32), GroupKeySig: b(64)}},
			Wraps:   []wire.CommitWrap{{User: "a", Wrap: b(80)}}, Confirm: b(32), Sig: b(64)}}),
		"list_users": encode(t, &wire.ListUsers{ID: "9"}),
	}
}

// TestEveryClassIsInvalid checks the classes whose every frame must be rejected.
func TestEveryClassIsInvalid(t *testing.T) {
	for name, base := range bases(t) {
		for _, class := range []Class{MissingMember, UnknownMember, TypeConfusion, DuplicateMember, BadValue, Base64, Nesting} {
			frames, err := Generate(base, class, Options{MaxBytes: 4096})
			if err != nil {
				t.Fatalf("%s %s: %v", name, class, err)
			}
			if len(frames) == 0 && class != Base64 && !(name == "list_users" && class == BadValue) {
				t.Errorf("%s %s: no frame", name, class)
			}
			for _, f := range frames {
				variable := strings.HasPrefix(f.Name, "/payload/ct: one byte") // ciphertexts have no fixed length
				if f.Valid && !variable {
					t.Errorf("%s %s %q is valid: %s", name, class, f.Name, f.Data)
				}
				if class == Nesting && len(f.Data) > 4096 {
					t.Errorf("%s %q is %d bytes, above MaxBytes", name, f.Name, len(f.Data))
				}
			}
		}
	}
}

// TestNumbersFollowENC8 checks the oracle's verdict on number spellings for a counter.
func TestNumbersFollowENC8(t *testing.T) {
	frames, err := Generate(bases(t)["relay-msg"], Numbers, Options{Under: "/payload/n"})
	if err != nil {
		t.Fatal(err)
	}
	valid := map[string]bool{}
	for _, f := range frames {
		valid[strings.TrimPrefix(f.Name, "/payload/n: the number ")] = f.Valid
	}
	for text, want := range map[string]bool{
		"3.0": true, "-0": true, "1E1": true, "30e-1": true, "2.000000000000000000000": true,
		"1.5": false, "1e400": false, "1e-400": false, "-1": false, "01": false, "NaN": false, "+1": false,
	} {
		if got, ok := valid[text]; !ok || got != want {
			t.Errorf("number %s: valid %v (generated %v), want %v", text, got, ok, want)
		}
	}
}

func TestUnicode(t *testing.T) {
	frames, err := Generate(bases(t)["hello"], Unicode, Options{Under: "/user"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		same := strings.Contains(f.Name, "same value")
		if f.Valid != same {
			t.Errorf("%q: valid %v: %s", f.Name, f.Valid, f.Data)
		}
	}
	if len(frames) < 6 {
		t.Errorf("%d frames", len(frames))
	}
}

func TestBase64Variants(t *testing.T) {
	frames, err := Generate(bases(t)["register"], Base64, Options{Under: "/proof"})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range frames {
		names[strings.TrimPrefix(f.Name, "/proof: ")] = true
		if f.Valid {
			t.Errorf("%q is valid", f.Name)
		}
	}
	for _, want := range []string{"missing padding", "non-zero unused bits", "one byte short", "one byte long", "the URL-safe alphabet"} {
		if !names[want] {
			t.Errorf("no %q variant among %v", want, names)
		}
	}
}

func TestFrameLevel(t *testing.T) {
	base := bases(t)["list_users"]
	for _, f := range NotOneObject(base) {
		if f.Valid {
			t.Errorf("NotOneObject %q is valid", f.Name)
		}
	}
	for _, f := range InvalidUTF8(base) {
		if f.Valid || utf8.Valid(f.Data) {
			t.Errorf("InvalidUTF8 %q is valid UTF-8 or accepted", f.Name)
		}
	}
}

func TestUnderRestricts(t *testing.T) {
	frames, err := Generate(bases(t)["relay-hs1"], TypeConfusion, Options{Under: "/payload"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if !strings.HasPrefix(f.Name, "/payload") {
			t.Errorf("%q is outside /payload", f.Name)
		}
	}
}
