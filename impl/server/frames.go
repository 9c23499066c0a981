package server

import (
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// The relay's WebSocket frame layer, server side (RFC 6455 §5). github.com/gobwas/ws parses and
// writes frame headers, checks them against the state of the connection and unmasks payloads;
// what the relay does with the frames is here, on the reader goroutine: control frames are
// answered between (or inside) messages, fragments are joined within max_message (spec §4.2
// [WS-5]), and every protocol error fails the connection with the close code of RFC 6455 §7.4.1.
// Nothing waits inside a library, so between two messages the reader is free to wait for the
// socket its own way, or to give its goroutine up (idle.go, park.go).

// The close codes the frame layer sends (RFC 6455 §7.4.1).
const (
	closeNormal          = 1000
	closeGoingAway       = 1001
	closeProtocolError   = 1002
	closeUnsupportedData = 1003
	closeNoStatus        = 1005 // received without a code; answered with an empty close frame
	closeInvalidPayload  = 1007
	closePolicyViolation = 1008
	closeTooBig          = 1009
	closeInternalError   = 1011
)

// readBufferSize is the size of the buffers a connection reads into while it reads.
const readBufferSize = 4096

// readPool holds the read buffers, so that a connection owns one only while it holds unread
// bytes.
var readPool = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}

// inBuffer holds what was read from the connection and not parsed yet, in a buffer from
// readPool that goes back to the pool as soon as its bytes are consumed: a connection between
// two messages holds none. Only the reader goroutine uses it.
type inBuffer struct {
	src io.Reader
	// beforeRead runs before every read from src: the connection writes the answers it held
	// back while more requests were buffered (queue.go, flushOwn) before it may wait.
	beforeRead func()
	b          *[]byte // nil when nothing is buffered
	r, w       int     // the unread bytes are (*b)[r:w]
	err        error   // what src reported with or instead of bytes, for the read after them
}

// buffered returns how many bytes are held.
func (in *inBuffer) buffered() int {
	if in.b == nil {
		return 0
	}
	return in.w - in.r
}

// Read returns held bytes first; a read as large as a buffer goes straight to src.
func (in *inBuffer) Read(p []byte) (int, error) {
	if in.b == nil {
		if in.err != nil {
			err := in.err
			in.err = nil
			return 0, err
		}
		if len(p) >= readBufferSize {
			if in.beforeRead != nil {
				in.beforeRead()
			}
			return in.src.Read(p)
		}
		if err := in.fill(); in.b == nil {
			return 0, err
		}
	}
	n := copy(p, (*in.b)[in.r:in.w])
	in.r += n
	if in.r == in.w {
		in.release()
	}
	return n, nil
}

// fill reads from src into an empty buffer. It returns src's error when no byte came; an error
// that came with bytes is kept for the read after them.
func (in *inBuffer) fill() error {
	if in.b != nil || in.err != nil {
		return nil
	}
	if in.beforeRead != nil {
		in.beforeRead()
	}
	b := readPool.Get().(*[]byte)
	n, err := in.src.Read(*b)
	if n == 0 {
		readPool.Put(b)
		return err
	}
	in.b, in.r, in.w, in.err = b, 0, n, err
	return nil
}

// hold keeps p, read ahead by someone else (the HTTP server's reader at the upgrade), for the
// next reads. Nothing else may be held.
func (in *inBuffer) hold(p []byte) {
	if len(p) == 0 {
		return
	}
	b := readPool.Get().(*[]byte)
	if len(p) > len(*b) {
		readPool.Put(b)
		big := make([]byte, len(p))
		b = &big
	}
	in.b, in.r, in.w = b, 0, copy(*b, p)
}

// readHeader reads a frame header as ws.ReadHeaderBuffer does, with the same results and
// errors (TestParseHeader); a header held whole, as nearly every one is, is parsed where it
// lies instead of being read out through io.ReadFull twice.
func (in *inBuffer) readHeader(scratch []byte) (ws.Header, error) {
	if in.b != nil {
		h, n, err := parseHeader((*in.b)[in.r:in.w])
		if err != nil || n > 0 {
			in.r += n
			if in.r == in.w {
				in.release()
			}
			return h, err
		}
	}
	return ws.ReadHeaderBuffer(in, scratch)
}

// parseHeader parses the frame header at the start of b (RFC 6455 §5.2) and returns it and its
// size, or a size of 0 when b does not hold all of it.
func parseHeader(b []byte) (h ws.Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	n = 2
	if b[1]&0x80 != 0 {
		h.Masked = true
		n += 4
	}
	switch length := b[1] & 0x7f; length {
	case 126:
		n += 2
	case 127:
		n += 8
	default:
		h.Length = int64(length)
	}
	if len(b) < n {
		return ws.Header{}, 0, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	ext := b[2:n]
	switch b[1] & 0x7f {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(ext))
		ext = ext[2:]
	case 127:
		if ext[0]&0x80 != 0 {
			return h, n, ws.ErrHeaderLengthMSB
		}
		h.Length = int64(binary.BigEndian.Uint64(ext))
		ext = ext[8:]
	}
	if h.Masked {
		copy(h.Mask[:], ext)
	}
	return h, n, nil
}

// release gives the buffer back and forgets what it held.
func (in *inBuffer) release() {
	if in.b != nil && cap(*in.b) == readBufferSize {
		readPool.Put(in.b)
	}
	in.b, in.r, in.w = nil, 0, 0
}

// wsFailure fails the connection (RFC 6455 §7.1.7): the reader closes with code and discards
// what the client still sends.
type wsFailure struct {
	code int
	text string
}

func (e *wsFailure) Error() string { return "server: websocket: " + e.text }

// peerClosed is the client's close frame: its code, to be echoed (RFC 6455 §5.5.1).
type peerClosed struct{ code int }

func (e *peerClosed) Error() string { return "server: websocket: the client closed the connection" }

// frameState is the reader's place in the frames of a message. Only the reader goroutine uses
// it.
type frameState struct {
	in         inBuffer
	hdr        [ws.MaxHeaderSize]byte              // scratch for the header being read
	control    [ws.MaxControlFramePayloadSize]byte // the payload of the control frame being read
	msg        []byte                              // the fragments of the message read so far; reused
	msgBuf     *[]byte                             // msg's buffer as it came from msgPool; nil with msg
	msgOp      ws.OpCode                           // the opcode of its first frame
	fragmented bool                                // a message has begun and not ended
}

// msgPool holds the buffers messages are read into, so that a connection owns one only while
// it reads: the reader gives its buffer back before it waits for the socket (releaseMsg).
var msgPool = sync.Pool{New: func() any { b := make([]byte, 0, readBufferSize); return &b }}

// releaseMsg gives the message buffer back, unless a message is half read. A buffer that grew
// for a large message is left to the collector, so the pool holds small ones only.
func (f *frameState) releaseMsg() {
	if f.fragmented || f.msgBuf == nil {
		return
	}
	if cap(f.msg) == readBufferSize {
		*f.msgBuf = f.msg[:0]
		msgPool.Put(f.msgBuf)
	}
	f.msg, f.msgBuf = nil, nil
}

// readMessage reads the next data message (its opcode and payload), answering the control
// frames before it and inside it. It returns escaped after a control frame between messages,
// so that the reader may wait for the next message its own way.
func (c *conn) readMessage() (op ws.OpCode, data []byte, escaped bool, err error) {
	f := &c.frames
	for {
		h, err := f.in.readHeader(f.hdr[:])
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
				return 0, nil, false, &wsFailure{closeProtocolError, "invalid frame length"}
			}
			return 0, nil, false, err
		}
		state := ws.StateServerSide
		if f.fragmented {
			state = state.Set(ws.StateFragmented)
		}
		// RFC 6455 §5.2, §5.4, §5.5: reserved bits and opcodes, unmasked frames, control frames
		// over 125 bytes or fragmented, and continuations out of place fail the connection.
		if err := ws.CheckHeader(h, state); err != nil {
			return 0, nil, false, &wsFailure{closeProtocolError, err.Error()}
		}
		if h.OpCode.IsControl() {
			payload := f.control[:h.Length]
			if _, err := io.ReadFull(&f.in, payload); err != nil {
				return 0, nil, false, err
			}
			ws.Cipher(payload, h.Mask, 0)
			if err := c.controlReceived(h.OpCode, payload); err != nil {
				return 0, nil, false, err
			}
			if f.fragmented {
				continue
			}
			return 0, nil, true, nil
		}
		// spec §5.10 [ABU-5]: a fragment costs more than its bytes; an unfragmented message,
		// the usual case, is not charged here (and pays no clock read).
		if (!h.Fin || h.OpCode == ws.OpContinuation) && !c.cork.budget.fragment(time.Now()) {
			return 0, nil, false, errOverBudget
		}
		// spec §4.2 [WS-5]: a message over max_message closes with 1009, before its payload
		// is read.
		if h.Length > int64(c.s.cfg.MaxMessage-len(f.msg)) {
			return 0, nil, false, &wsFailure{closeTooBig, "message too large"}
		}
		start := len(f.msg)
		if f.msg == nil {
			f.msgBuf = msgPool.Get().(*[]byte)
			f.msg = (*f.msgBuf)[:0]
		}
		f.msg = slices.Grow(f.msg, int(h.Length))[:start+int(h.Length)]
		if _, err := io.ReadFull(&f.in, f.msg[start:]); err != nil {
			return 0, nil, false, err
		}
		ws.Cipher(f.msg[start:], h.Mask, 0)
		if h.OpCode != ws.OpContinuation {
			f.msgOp = h.OpCode
		}
		if !h.Fin {
			f.fragmented = true
			continue
		}
		// The next message reuses the buffer: the message is handled before the next read,
		// and nothing keeps it (the codec copies what it decodes).
		data, f.msg, f.fragmented = f.msg, f.msg[:0], false
		if data == nil {
			data = []byte{}
		}
		return f.msgOp, data, false, nil
	}
}

// controlReceived handles a ping, pong or close frame (RFC 6455 §5.5).
func (c *conn) controlReceived(op ws.OpCode, payload []byte) error {
	switch op {
	case ws.OpPing:
		if err := c.controlFrame(); err != nil {
			return err // spec §5.10 [ABU-5]
		}
		c.extendReadDeadline()
		c.pong(string(payload))
	case ws.OpPong:
		if c.pingsOut.Swap(0) == 0 { // the answer to our pings is owed (WS-8), so free
			if err := c.controlFrame(); err != nil {
				return err // spec §5.10 [ABU-5]
			}
		}
		c.extendReadDeadline()
	case ws.OpClose:
		return closeFrameError(payload)
	}
	return nil
}

// closeFrameError checks the client's close frame (RFC 6455 §5.5.1, §7.4): a code the client
// may not send, or a reason that is not UTF-8, fails the connection.
func closeFrameError(payload []byte) error {
	switch {
	case len(payload) == 0:
		return &peerClosed{closeNoStatus}
	case len(payload) == 1:
		return &wsFailure{closeProtocolError, "invalid close frame"}
	}
	code := int(binary.BigEndian.Uint16(payload))
	if !validCloseCode(code) {
		return &wsFailure{closeProtocolError, "invalid close code"}
	}
	if !utf8.Valid(payload[2:]) {
		return &wsFailure{closeInvalidPayload, "invalid UTF-8 in the close reason"}
	}
	return &peerClosed{code}
}

// validCloseCode reports whether a client may send code in a close frame (RFC 6455 §7.4.1,
// §7.4.2; the codes registered with IANA since, 1012 to 1014, are accepted as well).
func validCloseCode(code int) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return false
}

// writeTextFrame writes frame as one text frame. Only the holder of the writer's role calls it.
func (c *conn) writeTextFrame(frame []byte) error {
	if err := ws.WriteHeaderBuffer(c.cork, ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(frame))}, c.whdr[:]); err != nil {
		return err
	}
	_, err := c.cork.Write(frame)
	return err
}

// writeControlFrame writes a control frame. Only the holder of the writer's role calls it.
func (c *conn) writeControlFrame(op ws.OpCode, payload []byte) error {
	if err := ws.WriteHeaderBuffer(c.cork, ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))}, c.whdr[:]); err != nil {
		return err
	}
	if len(payload) == 0 {
		return nil
	}
	_, err := c.cork.Write(payload)
	return err
}

// closeFrameBody is the payload of a close frame with code and text; none for closeNoStatus.
func closeFrameBody(code int, text string) []byte {
	if code == closeNoStatus {
		return nil
	}
	return ws.NewCloseFrameBody(ws.StatusCode(code), text)
}
