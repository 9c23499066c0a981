package client_test

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/impl/client"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsHoldNoSecret runs sessions, a group and a rejection with debug logging and checks that
// the logs hold no plaintext, seed or session key material: spec §9 [CLI-4].
func TestLogsHoldNoSecret(t *testing.T) {
	tp := startTapped(t)
	var logs syncBuffer
	debug := func(o *client.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	alice := tp.connect(t, "alice", debug)
	bob := tp.connect(t, "bob", debug)
	sid := secure(t, alice, bob)
	if _, err := alice.c.Send(ctx(t), sid, "top secret plaintext"); err != nil {
		t.Fatal(err)
	}
	bob.wait("message", message("top secret plaintext"))
	joinAll(t, client.Broadcast, alice, bob)
	if _, _, err := bob.c.GroupSend(ctx(t), client.Broadcast, "group plaintext"); err != nil {
		t.Fatal(err)
	}
	alice.wait("group message", groupMessage(client.Broadcast, "group plaintext"))
	tp.InjectRaw(t, "alice", []byte(`{"type":"chat_request","from":"bob","from":"eve","session":"AAAAAAAAAAAAAAAAAAAAAA=="}`))
	alice.wait("rejection", security("malformed", "MSG-2"))
	alice.close()
	bob.close()

	out := logs.String()
	if !strings.Contains(out, "rejected") {
		t.Fatalf("the logs are empty or miss the rejection; the test would prove nothing:\n%s", out)
	}
	for _, secret := range []string{"top secret plaintext", "group plaintext",
		base64.StdEncoding.EncodeToString(alice.key.Seed()), base64.StdEncoding.EncodeToString(bob.key.Seed()),
		string(alice.key.Seed())} {
		if strings.Contains(out, secret) {
			t.Fatalf("a secret is in the logs [CLI-4]:\n%s", out)
		}
	}
}
