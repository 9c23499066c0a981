package vectors

import "encoding/hex"

// LowOrderPoint is one encoding of a low-order X25519 point: X25519 of any scalar with it is
// all zero, which spec HS-6 makes a handshake abort on.
type LowOrderPoint struct {
	Name  string
	Point []byte
}

// lowOrder lists the low-order points of order 1, 2, 4 and 8 and their non-canonical
// encodings (p and p+1), RFC 7748 §5.
var lowOrder = []struct{ name, hex string }{
	{"zero", "0000000000000000000000000000000000000000000000000000000000000000"},
	{"one", "0100000000000000000000000000000000000000000000000000000000000000"},
	{"order-8-a", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"},
	{"order-8-b", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"},
	{"p-minus-1", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"p", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	{"p-plus-1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
}

// LowOrderPoints returns every encoding of a low-order X25519 point, each with the ignored high
// bit clear and set (NAME and NAME-high-bit), in the order of the HS-6 negatives of
// handshake.json, which the generator writes from this list.
func LowOrderPoints() []LowOrderPoint {
	out := make([]LowOrderPoint, 0, 2*len(lowOrder))
	for _, p := range lowOrder {
		b, err := hex.DecodeString(p.hex)
		if err != nil {
			panic("vectors: bad low-order point " + p.name)
		}
		high := append([]byte(nil), b...)
		high[31] |= 0x80
		out = append(out, LowOrderPoint{p.name, b}, LowOrderPoint{p.name + "-high-bit", high})
	}
	return out
}
