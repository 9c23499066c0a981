package history_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client/history"
)

func key(t *testing.T, b byte) []byte {
	t.Helper()
	seed := bytes.Repeat([]byte{b}, 32)
	k, err := history.Key(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRoundTripAndNoPlaintext: entries survive a reopen, the file never holds a message, a name
// or the word of a state in plaintext, and it is readable by its owner only. Rule: CLI-24.
func TestRoundTripAndNoPlaintext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history")
	s, err := history.Open(path, key(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1795651200000)
	for _, e := range []history.Entry{
		{Kind: history.KindOut, Peer: "bob", Session: "s1", From: "alice", Text: "the secret plan", At: at.UnixMilli(), N: 0},
		{Kind: history.KindState, Peer: "bob", Session: "s1", N: 0, State: "relayed"},
		{Kind: history.KindState, Peer: "bob", Session: "s1", N: 0, State: "delivered"},
		{Kind: history.KindIn, Peer: "bob", Session: "s1", From: "bob", Text: "agreed", At: at.UnixMilli() + 1, N: 1},
		{Kind: history.KindIn, Group: "broadcast", From: "carol", Text: "hello all", At: at.UnixMilli() + 2, N: 0},
	} {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file is random base64, which holds any short word now and then ("bob" in about one
	// file in 250): each needle has a space or quotes, which base64 has not, and its decoded
	// lines are searched too, for a plaintext that was only encoded.
	needles := []string{"the secret plan", "agreed", `"bob"`, `"carol"`, `"broadcast"`, `"delivered"`, `"text"`}
	views := [][]byte{data}
	for line := range bytes.Lines(data) {
		raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSuffix(line, []byte("\n"))))
		if err != nil {
			t.Fatalf("CLI-24: a line of the history file is not base64: %v", err)
		}
		views = append(views, raw)
	}
	for _, v := range views {
		for _, word := range needles {
			if bytes.Contains(v, []byte(word)) {
				t.Fatalf("CLI-24: the history file contains %s in plaintext", word)
			}
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	s, err = history.Open(path, key(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs := s.Messages("bob", "", 0)
	if len(msgs) != 2 || msgs[0].Text != "the secret plan" || msgs[0].State != "delivered" || msgs[1].Direction != "in" {
		t.Fatalf("messages after reopening: %+v", msgs)
	}
	if last := s.Messages("bob", "", 1); len(last) != 1 || last[0].Text != "agreed" {
		t.Fatalf("limit 1: %+v", last)
	}
	convs := s.Conversations()
	if len(convs) != 2 || convs[0].Group != "broadcast" || convs[1].Peer != "bob" || convs[1].Unread != 1 {
		t.Fatalf("conversations: %+v", convs)
	}
	if err := s.MarkRead("bob", ""); err != nil {
		t.Fatal(err)
	}
	if convs := s.Conversations(); convs[1].Unread != 0 {
		t.Fatalf("after MarkRead: %+v", convs)
	}
}

// TestWrongKey: a history written under another identity is refused with a clear error, and
// damaged lines too. Rule: CLI-24.
func TestWrongKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history")
	s, err := history.Open(path, key(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(history.Entry{Kind: history.KindIn, Peer: "bob", From: "bob", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := history.Open(path, key(t, 2)); !errors.Is(err, history.ErrUndecryptable) {
		t.Fatalf("another key: %v, want ErrUndecryptable", err)
	}
	for name, content := range map[string]string{"not base64": "%%%\n", "too short": "AAAA\n", "flipped": ""} {
		p := filepath.Join(t.TempDir(), "h")
		if name == "flipped" {
			data, _ := os.ReadFile(path)
			data[10] ^= 'A' ^ 'B'
			content = string(data)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := history.Open(p, key(t, 1)); !errors.Is(err, history.ErrUndecryptable) {
			t.Errorf("%s: %v, want ErrUndecryptable", name, err)
		}
	}
}

// TestClear deletes the file; clearing twice is fine.
func TestClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history")
	s, err := history.Open(path, key(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 {
		if err := history.Clear(path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("history still there: %v", err)
	}
}

// TestNilStore: a nil store (history off) records and returns nothing.
func TestNilStore(t *testing.T) {
	var s *history.Store
	if err := s.Add(history.Entry{Kind: history.KindIn}); err != nil || s.Messages("bob", "", 0) != nil || s.Conversations() != nil || s.Close() != nil {
		t.Fatal("a nil store is not inert")
	}
}

// FuzzOpen: any file content opens or fails with an error, never a panic.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("AAAA\n"))
	f.Add([]byte("\n\n%%%"))
	f.Add(bytes.Repeat([]byte("QUFB"), 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "h")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := history.Open(p, bytes.Repeat([]byte{1}, 32)); err == nil {
			s.Close()
		}
	})
}
