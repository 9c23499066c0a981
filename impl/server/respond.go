package server

import (
	"errors"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/blindpost/blindpost/impl/wire"
)

// The error codes of spec §5.7, named once.
const (
	errBadMessage       = wire.ErrorCodeBadMessage
	errOutOfOrder       = wire.ErrorCodeOutOfOrder
	errBadProof         = wire.ErrorCodeBadProof
	errIdentityMismatch = wire.ErrorCodeIdentityMismatch
	errServerFull       = wire.ErrorCodeServerFull
	errUnknownUser      = wire.ErrorCodeUnknownUser
	errUserOffline      = wire.ErrorCodeUserOffline
	errBadTarget        = wire.ErrorCodeBadTarget
	errTooLarge         = wire.ErrorCodeTooLarge
	errRateLimited      = wire.ErrorCodeRateLimited
	errNotMember        = wire.ErrorCodeNotMember
	errAlreadyMember    = wire.ErrorCodeAlreadyMember
	errStaleEpoch       = wire.ErrorCodeStaleEpoch
	errBadMembers       = wire.ErrorCodeBadMembers
	errLimitExceeded    = wire.ErrorCodeLimitExceeded
	errInternal         = wire.ErrorCodeInternal
	errNotInSession     = wire.ErrorCodeNotInSession
)

// maxErrorText is the longest error message the schema allows, in characters (spec §5.7).
const maxErrorText = 256

// reply encodes m and queues it for this connection, waiting for room if need be (queueOwn).
func (c *conn) reply(m wire.Message) {
	frame, err := wire.Encode(m)
	if err != nil {
		// A bug: everything the server sends is built from validated input.
		c.log.Error("encode reply", "err", err)
		return
	}
	c.queueOwn(frame)
}

// fail answers a request with error code (spec §5.7). id and typ are those of the request when
// the server could read them. text is for people and must hold names only, never anything else
// a client sent (spec §5.7 [ERR-4]).
func (c *conn) fail(id string, typ wire.RequestType, code wire.ErrorCode, text string) {
	c.s.metrics.Errors.WithLabelValues(string(code)).Inc()
	if c.log.Enabled(slog.LevelDebug) {
		c.log.Debug("error", "user", c.registeredName(), "for", typ, "code", code)
	}
	c.reply(&wire.ErrorMessage{ID: id, Code: code, Message: clampText(text), For: typ})
}

// failf is fail with a formatted text.
func (c *conn) failf(id string, typ wire.RequestType, code wire.ErrorCode, format string, args ...any) {
	c.fail(id, typ, code, fmt.Sprintf(format, args...))
}

// failAndClose sends the error that explains why, then closes with closeCode
// (spec §5.7 [ERR-2]: tell before closing).
func (c *conn) failAndClose(id string, typ wire.RequestType, code wire.ErrorCode, text string, closeCode int) {
	c.fail(id, typ, code, text)
	c.requestClose(closeCode, string(code))
}

// badMessageText describes a decoding failure by its JSON pointer, schema keyword and the
// codec's explanation, which names members and positions but never the offending value
// (spec §5.7 bad_message, [ERR-4]).
func badMessageText(err error) string {
	var ve *wire.ValidationError
	if !errors.As(err, &ve) {
		return "the message is not valid"
	}
	where := ve.Pointer
	if where == "" {
		where = "the message"
	}
	return "invalid " + where + ": " + ve.Keyword + ": " + ve.Message
}

// clampText makes text a valid error message: 1 to maxErrorText characters of valid UTF-8.
func clampText(text string) string {
	if !utf8.ValidString(text) {
		text = "the request failed"
	}
	if utf8.RuneCountInString(text) > maxErrorText {
		r := []rune(text)
		text = string(r[:maxErrorText-1]) + "…"
	}
	if text == "" {
		text = "the request failed"
	}
	return text
}

// ackedType is the `for` of the ack that answers a request of type typ (spec §5.6).
func ackedType(typ wire.RequestType) wire.AckedType { return wire.AckedType(typ) }
