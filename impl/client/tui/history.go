package tui

import (
	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/history"
)

// past holds the lines of each conversation as the encrypted history had them when the model
// started (spec §9 [CLI-24]). It is read once: what happens during the run comes as events, which
// the library also writes to the history, so reading it again would show them twice.
type past map[string][]line

// readPast reads every conversation of h; a nil h (history off) gives none.
func readPast(h *history.Store) past {
	p := past{}
	for _, cv := range h.Conversations() {
		key := cv.Peer
		if cv.Group != "" {
			key = groupKey(cv.Group)
		}
		var lines []line
		for _, msg := range h.Messages(cv.Peer, cv.Group, maxLines) {
			kind := lineMessage
			if msg.Direction == history.KindOut {
				kind = lineOwn
			}
			lines = append(lines, line{at: msg.At, kind: kind, from: msg.From, text: sanitize(msg.Text), // as when it came
				delivery: deliveryOf(client.DeliveryState(msg.State))})
		}
		p[key] = lines
	}
	return p
}

// take returns the past lines of a conversation, once.
func (p past) take(key string) []line {
	lines := p[key]
	delete(p, key)
	return lines
}
