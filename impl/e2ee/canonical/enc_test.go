package canonical

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestEncoding checks each field type of spec §2.1 [ENC-1]: 4-byte big-endian
// length before bytes and text, 8 bytes big-endian and no prefix for an
// integer, and one length prefix around a whole list.
func TestEncoding(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"ENC-1 empty bytes", AppendBytes(nil, nil), "00000000"},
		{"ENC-1 bytes", AppendBytes(nil, []byte{1, 2, 3}), "00000003010203"},
		{"ENC-1 text", AppendText(nil, "hi"), "000000026869"},
		{"ENC-1 text utf-8", AppendText(nil, "é"), "00000002c3a9"},
		{"ENC-1 uint64 zero", AppendUint64(nil, 0), "0000000000000000"},
		{"ENC-1 uint64", AppendUint64(nil, 0x0102030405060708), "0102030405060708"},
		{"ENC-1 empty list", AppendTextList(nil, nil), "00000000"},
		{"ENC-1 text list", AppendTextList(nil, []string{"a", "bc"}), "0000000b" + "0000000161" + "000000026263"},
		{"ENC-1 bytes list", AppendBytesList(nil, [][]byte{{0xff}, {}}), "00000009" + "00000001ff" + "00000000"},
		{"ENC-1 concatenation", AppendUint64(AppendText(AppendBytes(nil, []byte{9}), "x"), 1),
			"0000000109" + "0000000178" + "0000000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(tt.got); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestListNesting checks that a list built with BeginList/EndList after other
// fields patches its own length only. spec §2.1 [ENC-1]
func TestListNesting(t *testing.T) {
	b := AppendText(nil, "g")
	b, mark := BeginList(b)
	b = AppendBytes(b, []byte{1})
	inner, m2 := BeginList(b)
	inner = AppendText(inner, "z")
	b = EndList(inner, m2)
	b = EndList(b, mark)
	want := "0000000167" + "0000000e" + "0000000101" + "00000005" + "000000017a"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestAppendKeepsPrefix checks that the append-style encoders never touch
// bytes already in dst (callers build into fixed buffers).
func TestAppendKeepsPrefix(t *testing.T) {
	dst := []byte("keep")
	out := AppendText(dst, "x")
	if !bytes.HasPrefix(out, []byte("keep")) {
		t.Fatal("prefix changed")
	}
}
