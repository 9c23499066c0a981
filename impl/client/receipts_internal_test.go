package client

import (
	"testing"

	"pgregory.net/rapid"
)

// TestReceiptsModel runs random sends and receipts against the receipt state and a model of spec
// §6.7: a receipt is accepted only for a counter sent and above every earlier one (RCP-2); it
// delivers exactly the pending messages up to it, each once and in order (RCP-3); a refused one
// changes nothing.
func TestReceiptsModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r receipts
		var sent uint64      // counters 0..sent-1 went out (messages and receipts alike)
		var pending []uint64 // the model's messages without a receipt
		acked, hasAcked := uint64(0), false
		delivered := map[uint64]bool{}
		for range rapid.IntRange(1, 60).Draw(t, "steps") {
			switch rapid.IntRange(0, 2).Draw(t, "action") {
			case 0: // a message
				r.pending = append(r.pending, pendingMsg{n: sent})
				pending = append(pending, sent)
				sent++
			case 1: // a receipt of this side's own, which counts but is not a message
				sent++
			case 2:
				upto := rapid.Uint64Range(0, sent+2).Draw(t, "upto")
				got, err := r.apply(upto, sent)
				valid := upto < sent && (!hasAcked || upto > acked)
				if (err == nil) != valid {
					t.Fatalf("receipt %d after %d sent (acked %d, %v): err %v", upto, sent, acked, hasAcked, err)
				}
				if !valid {
					continue
				}
				acked, hasAcked = upto, true
				var want []uint64
				for len(pending) > 0 && pending[0] <= upto {
					want, pending = append(want, pending[0]), pending[1:]
				}
				if len(got) != len(want) {
					t.Fatalf("receipt %d delivered %d messages, want %v", upto, len(got), want)
				}
				for i, p := range got {
					if p.n != want[i] || delivered[p.n] {
						t.Fatalf("receipt %d delivered %d (want %d, twice: %v)", upto, p.n, want[i], delivered[p.n])
					}
					delivered[p.n] = true
				}
			}
		}
		if len(r.pending) != len(pending) {
			t.Fatalf("%d pending, model %d", len(r.pending), len(pending))
		}
	})
}
