package identity

import (
	"fmt"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// Sizes of the registration inputs. spec §5.2, §4.1
const (
	ChallengeSize = 32
	ServerPinSize = 32
)

// registerMessage is "blindpost/1 register" || enc(bytes challenge, bytes
// server_pin, text user, bytes IK_public, bytes GK_public).
func registerMessage(challenge, serverPin []byte, user string, ik, gk []byte) []byte {
	m := make([]byte, 0, len(canonical.LabelRegister)+20+len(challenge)+len(serverPin)+len(user)+len(ik)+len(gk))
	m = append(m, canonical.LabelRegister...)
	m = canonical.AppendBytes(m, challenge)
	m = canonical.AppendBytes(m, serverPin)
	m = canonical.AppendText(m, user)
	m = canonical.AppendBytes(m, ik)
	return canonical.AppendBytes(m, gk)
}

// RegisterProof returns the registration proof of spec §5.2 for user, the
// server's challenge and the 32-byte pin of the certificate the client
// verified on this connection (REG-11).
func (k *PrivateKey) RegisterProof(challenge, serverPin []byte, user string) ([]byte, error) {
	if len(challenge) != ChallengeSize || len(serverPin) != ServerPinSize {
		return nil, fmt.Errorf("e2ee: register proof: challenge and pin must be %d and %d bytes", ChallengeSize, ServerPinSize)
	}
	return k.Sign(registerMessage(challenge, serverPin, user, k.pub, k.groupPub)), nil
}

// VerifyRegisterProof checks a registration proof with the identity key of
// the register message, over the challenge the server issued, its own pin
// and the user named in hello. It returns bad_signature under REG-3 when
// the proof does not verify; the server answers that with bad_proof.
// spec §5.2 [REG-3]
func VerifyRegisterProof(challenge, serverPin []byte, user string, ik, gk, proof []byte) error {
	if len(challenge) != ChallengeSize || len(serverPin) != ServerPinSize || len(gk) != GroupKeySize {
		return e2ee.Reject(e2ee.BadSignature, "REG-3", "challenge, pin or group key has the wrong size")
	}
	if err := checkKey(user, ik); err != nil {
		return err
	}
	if !Verify(ik, registerMessage(challenge, serverPin, user, ik, gk), proof) {
		return e2ee.Reject(e2ee.BadSignature, "REG-3", "registration proof of %q does not verify", user)
	}
	return nil
}
