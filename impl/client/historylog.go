package client

import (
	"strconv"
	"time"

	"github.com/blindpost/blindpost/impl/client/history"
)

// historyLog writes what the user sees into the encrypted history (spec §9 [CLI-24]), when
// Options.History is set; a failed write is logged and never stops the conversation.
type historyLog struct{ c *Client }

func (c *Client) history() historyLog { return historyLog{c} }

func (h historyLog) add(e history.Entry) {
	if h.c.opts.History == nil {
		return
	}
	if err := h.c.opts.History.Add(e); err != nil {
		h.c.log.Warn("client: history not written", "err", err)
	}
}

func (h historyLog) sent(peer string, sid SessionID, n uint64, text string, at time.Time) {
	h.add(history.Entry{Kind: history.KindOut, Peer: peer, Session: sid.String(), From: h.c.user, Text: text, At: at.UnixMilli(), N: n})
}

func (h historyLog) received(peer string, sid SessionID, n uint64, text string, at time.Time) {
	h.add(history.Entry{Kind: history.KindIn, Peer: peer, Session: sid.String(), From: peer, Text: text, At: at.UnixMilli(), N: n})
}

func (h historyLog) delivery(peer string, sid SessionID, n uint64, st DeliveryState) {
	h.add(history.Entry{Kind: history.KindState, Peer: peer, Session: sid.String(), At: time.Now().UnixMilli(), N: n, State: string(st)})
}

func (h historyLog) group(group, from string, epoch, n uint64, text string, at time.Time, out bool) {
	kind := history.KindIn
	if out {
		kind = history.KindOut
	}
	h.add(history.Entry{Kind: kind, Group: group, Session: "epoch-" + strconv.FormatUint(epoch, 10), From: from, Text: text, At: at.UnixMilli(), N: n})
}
