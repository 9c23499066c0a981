package serversuite

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// Register opens a connection for role and registers the case's username of that role with its
// key (Name, Key); the case stops when registration fails.
func Register(t *harness.T, role string) *Client {
	name := Name(t, role)
	return RegisterAs(t, role, name, Key(t, name, 0))
}

// RegisterAs opens a connection and registers name with key.
func RegisterAs(t *harness.T, role, name string, key *identity.PrivateKey) *Client {
	c := Dial(t, role)
	c.Hello(name)
	c.Register(key)
	return c
}

// Hello sends hello for name and reads hello_ack: a 32-byte challenge (REG-1) and the limits.
func (c *Client) Hello(name string) Frame {
	c.Name = name
	id := c.ID()
	c.Send(&wire.Hello{ID: id, Protocol: "blindpost/1", User: name})
	f := c.ExpectResponse("REG-1", id, "hello_ack")
	m, err := wire.Decode(wire.FromServer, f.Data)
	ack, ok := m.(*wire.HelloAck)
	if err != nil || !ok {
		c.t.FatalMismatch("MSG-6", "a valid hello_ack", f.Short())
	}
	c.Challenge, c.Limits = ack.Challenge, ack.Limits
	c.setPace()
	return f
}

// Register sends register with key and reads register_ack (REG-3): the user and the
// fingerprint of the identity key.
func (c *Client) Register(key *identity.PrivateKey) Frame {
	c.Key = key
	id := c.ID()
	c.Send(RegisterMsg(id, key, c.Name, c.Challenge, c.Pin))
	f := c.ExpectResponse("REG-3", id, "register_ack")
	if f.Str("user") != c.Name || f.Str("fingerprint") != identity.Fingerprint(key.Public()) {
		c.t.Mismatch("REG-3", fmt.Sprintf("register_ack for %s with fingerprint %s", c.Name, identity.Fingerprint(key.Public())), f.Short())
	}
	c.t.Logf("%s registered %s", c.label, c.Name)
	return f
}

// RegisterMsg builds a valid register: the group key signature and the proof over challenge and
// pin (spec §5.2).
func RegisterMsg(id string, key *identity.PrivateKey, name string, challenge, pin []byte) *wire.Register {
	proof, err := key.RegisterProof(pad32(challenge), pad32(pin), name)
	if err != nil {
		panic(err) // both are 32 bytes
	}
	return &wire.Register{ID: id, IdentityKey: key.Public(), GroupKey: key.GroupPublic(), GroupKeySig: key.GroupKeySig(name), Proof: proof}
}

// pad32 returns b when it has 32 bytes and 32 zero bytes otherwise (a server that sent no valid
// challenge, or a connection without a certificate), so that a proof can still be built and
// refused.
func pad32(b []byte) []byte {
	if len(b) == 32 {
		return b
	}
	return make([]byte, 32)
}

// GroupKeyWithSig returns a new X25519 group key and its group key signature by key for name
// (spec §3.2): another client may choose its group key at random.
func GroupKeyWithSig(t *harness.T, key *identity.PrivateKey, name string) (gk, sig []byte) {
	priv, err := ecdh.X25519().NewPrivateKey(Random(t, 32))
	if err != nil {
		panic(err)
	}
	gk = priv.PublicKey().Bytes()
	msg := append([]byte("blindpost/1 group key"), encText(name)...)
	msg = append(msg, encBytes(gk)...)
	return gk, key.Sign(msg)
}

// encText and encBytes are the field encoding of spec §2.1.
func encText(s string) []byte { return encBytes([]byte(s)) }

func encBytes(b []byte) []byte {
	n := len(b)
	return append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, b...)
}

// Random returns n bytes from the case's seeded source (rng.go), or from crypto/rand when t is nil.
func Random(t *harness.T, n int) []byte {
	b := make([]byte, n)
	if t == nil {
		rand.Read(b)
		return b
	}
	source(t).read(b)
	return b
}

// msgPayload is a msg record payload with counter n and a ciphertext of size bytes.
func msgPayload(t *harness.T, n int64, size int) *wire.MsgRecord {
	return &wire.MsgRecord{N: n, Ct: Random(t, max(size, 16))}
}

// payloads returns one payload of every kind (spec §6.2).
func payloads(t *harness.T) []wire.Payload {
	return []wire.Payload{
		&wire.HS1{Suites: []string{"x25519-hkdf-sha256-aes256gcm", "future-suite-2"}, E: Random(t, 32)},
		&wire.HS2{Suite: "x25519-hkdf-sha256-aes256gcm", E: Random(t, 32), Sig: Random(t, 64), Fin: Random(t, 32)},
		&wire.HS3{Sig: Random(t, 64), Fin: Random(t, 32)},
		msgPayload(t, 7, 40),
		&wire.CloseRecord{N: 8, Ct: Random(t, 16)},
	}
}

// b64 is standard padded base64.
func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// RegisterWith is Register on a connection opened with options.
func RegisterWith(t *harness.T, role string, o DialOptions) *Client {
	c, resp, err := DialWith(t, role, o)
	if err != nil {
		t.Fatalf("cannot connect as %s: %v%s", role, err, statusText(resp))
	}
	name := Name(t, role)
	c.Hello(name)
	c.Register(Key(t, name, 0))
	return c
}
