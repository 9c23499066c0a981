package wire

import (
	"fmt"
)

// Direction says which stream a message belongs to, and so which schema decodes it.
type Direction uint8

// The two directions of a connection.
const (
	FromClient Direction = iota + 1 // client to server: schemas/client-message.json
	FromServer                      // server to client: schemas/server-message.json
)

// String names the direction: "client-to-server" or "server-to-client".
func (d Direction) String() string {
	switch d {
	case FromClient:
		return "client-to-server"
	case FromServer:
		return "server-to-client"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Message is a top-level wire message: *Hello, *Register, … for FromClient and *HelloAck,
// *RegisterAck, … for FromServer. MessageType returns its type member.
type Message interface {
	MessageType() string
}

// encodable is what the generated message types add to Message.
type encodable interface {
	Message
	validate() *ValidationError
	appendJSON(b []byte) []byte
}

// Decode decodes one message of direction dir (spec §5.1): data must be valid UTF-8 holding
// exactly one JSON object, without duplicate members or nesting deeper than MaxDepth, that
// validates against the schema its type member selects. It returns the message as a pointer to
// its generated type (for example *Relay), or an error that is a *ValidationError.
func Decode(dir Direction, data []byte) (Message, error) {
	d := decoder{data: data}
	var (
		m   Message
		err *ValidationError
	)
	switch dir {
	case FromClient:
		m, err = decodeClientMessage(&d)
	case FromServer:
		m, err = decodeServerMessage(&d)
	default:
		return nil, fmt.Errorf("wire: unknown direction %d", uint8(dir))
	}
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return nil, d.fail(err)
	}
	return m, nil
}

// Encode validates m and returns its canonical encoding (spec MSG-6, ENC-5, ENC-7): members in
// schema order with type first, optional members only when set, canonical padded base64, plain
// decimal integers and no HTML escaping. A message that does not validate gives a
// *ValidationError and no bytes.
func Encode(m Message) ([]byte, error) {
	bp := getBuffer()
	b, err := AppendEncode(*bp, m)
	if err != nil {
		encodeBuffers.Put(bp)
		return nil, err
	}
	return putBuffer(bp, b), nil
}

// AppendEncode is Encode appending to dst; on error it returns dst unchanged.
func AppendEncode(dst []byte, m Message) ([]byte, error) {
	e, ok := m.(encodable)
	if !ok {
		return dst, fmt.Errorf("wire: cannot encode %T: not a generated message type", m)
	}
	if err := e.validate(); err != nil {
		return dst, err
	}
	return e.appendJSON(dst), nil
}

// DecodePayload decodes the end-to-end payload of a relay message on its own
// (schemas/e2e/payload.json): *HS1, *HS2, *HS3, *MsgRecord or *CloseRecord.
func DecodePayload(data []byte) (Payload, error) {
	d := decoder{data: data}
	p, err := decodePayload(&d)
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return nil, d.fail(err)
	}
	return p, nil
}

// DecodeContent decodes the plaintext of a message record or group message
// (schemas/e2e/content.json, spec REC-7).
func DecodeContent(data []byte) (*Content, error) {
	c := new(Content)
	if err := c.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return c, nil
}

// DecodeReceipt decodes the plaintext of a message record that is a delivery receipt
// (schemas/e2e/receipt.json, spec RCP-1).
func DecodeReceipt(data []byte) (*Receipt, error) {
	r := new(Receipt)
	if err := r.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return r, nil
}

// DecodeEpochAck decodes the plaintext of a group message that is an epoch acknowledgement
// (schemas/e2e/epoch_ack.json, spec GRP-21).
func DecodeEpochAck(data []byte) (*EpochAck, error) {
	a := new(EpochAck)
	if err := a.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return a, nil
}

// DecodeCommit decodes a group commit (schemas/e2e/commit.json).
func DecodeCommit(data []byte) (*Commit, error) {
	c := new(Commit)
	if err := c.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return c, nil
}

// DecodeGroupMsg decodes a group message (schemas/e2e/group_msg.json).
func DecodeGroupMsg(data []byte) (*GroupMsg, error) {
	g := new(GroupMsg)
	if err := g.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return g, nil
}

// fail turns the first error of a decoder into the error to report: an error in the JSON text
// itself (invalid UTF-8, syntax, a duplicate member, too deep, trailing data) anywhere in the
// text wins over a schema error found before it, as it does for the schema oracle.
func (d *decoder) fail(err *ValidationError) error {
	if wf := wellFormed(d.data); wf != nil {
		return wf
	}
	return err
}
