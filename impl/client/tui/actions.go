package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee"
)

// quitTimeout bounds the ending of sessions when the user quits.
const quitTimeout = 5 * time.Second

// resultMsg is the answer of a call to the library, applied to the model in Update: calls run
// off the UI goroutine and touch no state; their results do, in order with everything else.
type resultMsg func(m *Model) tea.Cmd

// quitReadyMsg says that the sessions were ended and the client closed.
type quitReadyMsg struct{}

// call runs f with a bounded context off the UI goroutine and applies what it returns.
func (m *Model) call(f func(ctx context.Context) resultMsg) tea.Cmd {
	parent := m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, opTimeout)
		defer cancel()
		return f(ctx)
	}
}

// chatCmd asks peer for a 1:1 session (spec §6.1); SessionEvents report what follows.
func (m *Model) chatCmd(peer string) tea.Cmd {
	c := m.c
	return m.call(func(ctx context.Context) resultMsg {
		sid, err := c.Chat(ctx, peer)
		return func(m *Model) tea.Cmd {
			cv := m.peerConv(peer)
			if err != nil {
				m.note(cv, lineInfo, "could not ask "+peer+" for a chat: "+explain(err))
				return nil
			}
			m.adopt(cv, sid, client.SessionRequested)
			return nil
		}
	})
}

// acceptCmd accepts the request of c; the library checks the requester's key first (HS-2).
func (m *Model) acceptCmd(c *conv) tea.Cmd {
	cl, peer, sid := m.c, c.peer, c.incoming
	return m.call(func(ctx context.Context) resultMsg {
		err := cl.Accept(ctx, sid)
		return failure(peer, "could not accept "+peer+"'s request", err)
	})
}

// declineCmd declines the request of c.
func (m *Model) declineCmd(c *conv) tea.Cmd {
	cl, peer, sid := m.c, c.peer, c.incoming
	return m.call(func(ctx context.Context) resultMsg {
		err := cl.Decline(ctx, sid)
		return failure(peer, "could not decline "+peer+"'s request", err)
	})
}

// failure returns a result that reports err, if any, in the conversation of key.
func failure(key, what string, err error) resultMsg {
	return func(m *Model) tea.Cmd {
		if err != nil {
			m.note(m.conversation(key), lineInfo, what+": "+explain(err))
		}
		return nil
	}
}

// sendCmd sends text in c: a record of the secured session, or a group message. Nothing is
// ever sent unencrypted: without a secured session the text is not sent. typed is what the
// user typed, put back in the input line when the text cannot be sent. The message shows at
// once, marked sending; its mark follows what the relay and the peer's receipt say (spec §6.7).
func (m *Model) sendCmd(c *conv, text, typed string) tea.Cmd {
	if c.isGroup() {
		return m.groupSendCmd(c, text, typed)
	}
	if c.state != client.SessionSecured {
		m.note(c, lineInfo, "not sent: this conversation is not end-to-end secured; your text stays in the input line (Esc clears it); an empty line and Enter ask "+c.peer+" for a chat")
		m.keep(c, typed)
		return nil
	}
	cl, key, sid, peer := m.c, c.key, c.sid, c.peer
	id := m.pending(c, text)
	return m.call(func(ctx context.Context) resultMsg {
		n, err := cl.Send(ctx, sid, text)
		r := sendResult{key: key, id: id, sid: sid, n: n, typed: typed, err: err}
		if err != nil {
			// Sealed and then refused: the library failed it and keeps its text (CLI-21). No
			// answer in time: it is still on its way, and its delivery events will say.
			r.kept = slices.ContainsFunc(cl.Outbox(peer), func(u client.Undelivered) bool { return u.Session == sid && u.N == n })
			r.waiting = errors.Is(err, context.DeadlineExceeded)
		}
		return r.apply
	})
}

// groupSendCmd sends text to a group the user joined; a group message gets no receipt, so its
// mark goes no further than relayed (spec §6.7).
func (m *Model) groupSendCmd(c *conv, text, typed string) tea.Cmd {
	if !c.joined {
		m.note(c, lineInfo, "not sent: join the group first with /join; your text stays in the input line (Esc clears it)")
		m.keep(c, typed)
		return nil
	}
	cl, key, group := m.c, c.key, c.group
	id := m.pending(c, text)
	return m.call(func(ctx context.Context) resultMsg {
		_, _, err := cl.GroupSend(ctx, group, text)
		return sendResult{key: key, id: id, typed: typed, err: err, group: true}.apply
	})
}

// sendResult is the answer of Send or GroupSend for the message shown as line id.
type sendResult struct {
	key     string
	id      uint64
	sid     client.SessionID
	n       uint64
	typed   string
	err     error
	group   bool
	kept    bool // refused after sealing: the library's outbox keeps the text
	waiting bool // no answer in time: the delivery events will tell
}

// apply marks the message relayed, or failed, or, when it was never sent, removes it, says
// why and gives the typed text back.
func (r sendResult) apply(m *Model) tea.Cmd {
	c := m.conversation(r.key)
	l := c.lineByID(r.id)
	switch {
	case r.err != nil && !r.kept && !r.waiting:
		c.drop(r.id)
		m.note(c, lineInfo, "not sent: "+explain(r.err))
		m.keep(c, r.typed)
		return nil
	case l == nil: // scrolled out of the kept history
		return nil
	case r.group:
		m.setDelivery(c, l, deliveryRelayed)
		return nil
	}
	l.sid, l.n = r.sid, r.n
	k := deliveryKey{r.sid, r.n}
	d := m.early[k]
	delete(m.early, k)
	switch {
	case r.kept:
		d = deliveryFailed
	case r.err == nil:
		d = advance(d, deliveryRelayed) // Send returns once the relay accepted the record
	default:
		m.note(c, lineInfo, "the relay has not answered yet for your message; its mark shows what becomes of it")
	}
	m.setDelivery(c, l, d)
	return nil
}

// endCmd ends the session of c: an encrypted close record, then chat_terminate (spec §6.5
// [REC-9]); an unanswered request is declined.
func (m *Model) endCmd(c *conv) tea.Cmd {
	sid := c.sid
	switch {
	case c.isGroup():
		m.note(c, lineInfo, "/end ends a 1:1 session; /leave leaves a group")
		return nil
	case c.hasRequest():
		return m.declineCmd(c)
	case !c.live():
		m.note(c, lineInfo, "no session with "+c.peer+" to end")
		return nil
	}
	cl, peer := m.c, c.peer
	return m.call(func(ctx context.Context) resultMsg {
		return failure(peer, "could not end the session", cl.End(ctx, sid))
	})
}

// joinCmd joins a group (spec §5.9); a GroupEvent follows once an epoch lists the user.
func (m *Model) joinCmd(group string) tea.Cmd {
	cl, key := m.c, groupKey(group)
	return m.call(func(ctx context.Context) resultMsg {
		err := cl.JoinGroup(ctx, group)
		return func(m *Model) tea.Cmd {
			c := m.conversation(key)
			if err != nil {
				m.note(c, lineInfo, "could not join: "+explain(err))
				return nil
			}
			c.joined = true
			m.note(c, lineInfo, "joined "+c.title()+"; waiting for an epoch that lists you")
			return nil
		}
	})
}

// leaveCmd leaves a group; its epoch secret is erased (spec §7.1 [GRP-2]).
func (m *Model) leaveCmd(group string) tea.Cmd {
	cl, key := m.c, groupKey(group)
	return m.call(func(ctx context.Context) resultMsg {
		err := cl.LeaveGroup(ctx, group)
		return func(m *Model) tea.Cmd {
			c := m.conversation(key)
			if err != nil {
				m.note(c, lineInfo, "could not leave: "+explain(err))
				return nil
			}
			c.joined, c.epoch, c.members, c.announced = false, 0, nil, nil
			m.note(c, lineInfo, "you left "+c.title()+"; its key is erased and the others rekey without you")
			return nil
		}
	})
}

// safetyCmd computes the safety number with peer from its pinned key (spec §6.6 [TRUST-4]).
func (m *Model) safetyCmd(peer string) tea.Cmd {
	cl := m.c
	return m.call(func(ctx context.Context) resultMsg {
		digits, err := cl.SafetyNumber(ctx, peer)
		fp, _ := cl.PinnedFingerprint(peer)
		return func(m *Model) tea.Cmd {
			c := m.peerConv(peer)
			if err != nil {
				m.note(c, lineInfo, "no safety number with "+peer+": "+explain(err))
				return nil
			}
			m.shownSafety[peer] = fp
			m.note(c, lineInfo, safetyText(m.me, peer, digits, m.verified.IsVerified(peer, fp)))
			return nil
		}
	})
}

// trustCheckCmd shows what /trust NAME yes would change, and what it means.
func (m *Model) trustCheckCmd(peer string) tea.Cmd {
	cl := m.c
	return m.call(func(ctx context.Context) resultMsg {
		served, err := cl.ServedFingerprint(ctx, peer)
		pinned, had := cl.PinnedFingerprint(peer)
		return func(m *Model) tea.Cmd {
			c := m.peerConv(peer)
			switch {
			case err != nil:
				m.note(c, lineInfo, "cannot fetch "+peer+"'s key: "+explain(err))
			case had && pinned == served:
				m.note(c, lineInfo, fmt.Sprintf("%s's key has not changed (pin %s): nothing to trust", peer, shortFP(pinned)))
			default:
				m.pendingTrust[peer] = served
				m.note(c, lineSecurity, trustWarning(peer, pinned, served))
			}
			return nil
		}
	})
}

// trustCmd replaces the pin of peer with the key the directory serves, on the user's explicit
// decision (spec §6.6 [TRUST-2]), and checks that it is the key the warning showed.
func (m *Model) trustCmd(peer, shown string) tea.Cmd {
	cl := m.c
	return m.call(func(ctx context.Context) resultMsg {
		err := cl.Trust(ctx, peer)
		pinned, _ := cl.PinnedFingerprint(peer)
		return func(m *Model) tea.Cmd {
			c := m.peerConv(peer)
			switch {
			case err != nil:
				m.note(c, lineInfo, "could not trust "+peer+"'s key: "+explain(err))
			case pinned != shown:
				m.note(c, lineSecurity, fmt.Sprintf("the relay served another key (%s) than the one shown (%s) while you trusted it; run /trust %s again and compare",
					shortFP(pinned), shortFP(shown), peer))
			}
			return nil
		}
	})
}

// quit ends every session with a close record and closes the client (spec §6.5), then stops
// the program; a second Ctrl-C stops at once.
func (m *Model) quit() tea.Cmd {
	if m.quitting {
		return tea.Quit
	}
	m.quitting = true
	var live []client.SessionID
	for _, c := range m.convs {
		if c.live() {
			live = append(live, c.sid)
		}
	}
	cl, parent := m.c, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), quitTimeout)
		defer cancel()
		for _, sid := range live {
			cl.End(ctx, sid) // the close record, then chat_terminate (REC-9); Close covers failures
		}
		cl.Close()
		return quitReadyMsg{}
	}
}

// explain says why a call failed, for people.
func explain(err error) string {
	var se *client.ServerError
	switch {
	case errors.As(err, &se):
		return serverErrorText(se.Code, se.Message)
	case errors.Is(err, client.ErrNotConnected):
		return "not connected to the relay; wait for the reconnection"
	case errors.Is(err, client.ErrClosed):
		return "the client is closed"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	if o, ok := e2ee.OutcomeOf(err); ok {
		return fmt.Sprintf("refused: %s (see the security notice)", string(o))
	}
	return sanitize(err.Error())
}
