package tui

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/history"
)

// TestHistoryLoaded: conversations start with what the encrypted history kept from earlier runs,
// once each, sent messages with the delivery state recorded; a message of this run is not shown
// twice. Rules: CLI-24, CLI-21.
func TestHistoryLoaded(t *testing.T) {
	store, err := history.Open(filepath.Join(t.TempDir(), "history"), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, e := range []history.Entry{
		{Kind: history.KindOut, Peer: "bob", Session: "s", From: "alice", Text: "yesterday's question", At: t0.UnixMilli() - 1000},
		{Kind: history.KindState, Peer: "bob", Session: "s", At: t0.UnixMilli() - 900, N: 0, State: string(client.DeliveryFailed)},
		{Kind: history.KindIn, Peer: "bob", Session: "s", From: "bob", Text: "yesterday's answer", At: t0.UnixMilli() - 500, N: 1},
		{Kind: history.KindIn, Group: client.Broadcast, From: "carol", Text: "old news for all", At: t0.UnixMilli() - 200},
	} {
		if err := store.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, Options{History: store})
	bob := h.m.peerConv("bob")
	h.said("old news for all", "yesterday's question", "yesterday's answer")
	if len(bob.lines) != 2 || bob.lines[0].kind != lineOwn || bob.lines[1].from != "bob" {
		t.Fatalf("bob's conversation: %+v", bob.lines)
	}
	// The delivery state the history recorded stays on the line (CLI-21).
	h.keys("<tab>")
	h.contains("alice: yesterday's question · ✗ not delivered")
	// A message of this run: the library writes it to the history too, and it shows once.
	if err := store.Add(history.Entry{Kind: history.KindIn, Peer: "carol", From: "carol", Text: "fresh"}); err != nil {
		t.Fatal(err)
	}
	h.events(client.MessageEvent{From: "carol", Text: "fresh", SentAt: t0})
	n := 0
	for _, l := range h.m.peerConv("carol").lines {
		if strings.Contains(l.text, "fresh") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the fresh message shows %d times", n)
	}
}
