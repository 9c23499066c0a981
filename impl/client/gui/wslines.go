package gui

import (
	"errors"
	"io"
	"time"

	"github.com/gorilla/websocket"
)

// maxMessage bounds one command from the page; the driver's own line limit is the same.
const maxMessage = 1 << 20

// writeWait bounds the write of one line to the page.
const writeWait = 10 * time.Second

// wsLines carries driver lines over a WebSocket, one line per text message.
type wsLines struct{ ws *websocket.Conn }

func newWSLines(ws *websocket.Conn) *wsLines {
	ws.SetReadLimit(maxMessage)
	return &wsLines{ws: ws}
}

// ReadLine returns the next text message; a closed connection is the end of input.
func (l *wsLines) ReadLine() ([]byte, error) {
	for {
		typ, data, err := l.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, io.EOF
			}
			return nil, err
		}
		if typ == websocket.TextMessage {
			return data, nil
		}
		// The page sends text only; a binary message is not a command.
		_ = l.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseUnsupportedData, "text only"), time.Now().Add(writeWait))
		return nil, io.EOF
	}
}

// WriteLine sends one line as a text message.
func (l *wsLines) WriteLine(line []byte) error {
	_ = l.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return l.ws.WriteMessage(websocket.TextMessage, line)
}
