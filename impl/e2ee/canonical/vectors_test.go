package canonical

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/blindpost/blindpost/vectors"
)

// TestVectors runs vectors/encoding.json through this package (spec §8,
// VEC-1): the labels of Appendix B against the constants, each with one use
// (ENC-4), every enc case through the Append functions (ENC-1; the
// structured values, ENC-2, start with their label), and every Expand case
// through ExpandInfo, Expand and HKDFExpand (ENC-3).
func TestVectors(t *testing.T) {
	var v vectors.Encoding
	if err := vectors.Load("encoding", &v); err != nil {
		t.Fatal(err)
	}
	t.Run("labels", func(t *testing.T) {
		var full []string
		var short []ExpandLabel
		uses := map[string]string{}
		for _, l := range v.Labels {
			if !bytes.Equal(l.Hex, []byte(l.Label)) {
				t.Errorf("%s: hex is not the label's bytes", l.Label)
			}
			if !slices.Contains(l.Rules, "ENC-4") {
				t.Errorf("%s: the label vector does not name ENC-4", l.Label)
			}
			// ENC-4: one label for one use, one use for one label.
			if other, dup := uses[l.Use]; dup {
				t.Errorf("ENC-4: %s and %s have the same use %q", other, l.Label, l.Use)
			}
			uses[l.Use] = l.Label
			full = append(full, l.Label)
			if l.Expand != "" {
				if Prefix+l.Expand != l.Label {
					t.Errorf("ENC-4: %s: short label %q", l.Label, l.Expand)
				}
				short = append(short, ExpandLabel(l.Expand))
			}
		}
		slices.Sort(full)
		slices.Sort(short)
		mine, mineShort := Labels(), ExpandLabels()
		slices.Sort(mine)
		slices.Sort(mineShort)
		if len(slices.Compact(slices.Clone(full))) != len(full) || len(slices.Compact(slices.Clone(mine))) != len(mine) {
			t.Errorf("ENC-4: a label is listed twice:\n%q\n%q", full, mine)
		}
		if !slices.Equal(full, mine) || !slices.Equal(short, mineShort) {
			t.Errorf("ENC-4: the labels of the vectors and of this package differ:\n%q\n%q", full, mine)
		}
	})
	for _, c := range v.Enc {
		t.Run("enc/"+c.ID, func(t *testing.T) {
			got, err := appendFields(nil, c.Fields)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.Encoded) {
				t.Fatalf("ENC-1: got %x, want %x", got, c.Encoded)
			}
			// ENC-2: a structured value the protocol authenticates is the enc of its fields,
			// the first of which is the label of its one use.
			if slices.Contains(c.Rules, "ENC-2") {
				if len(c.Fields) == 0 || c.Fields[0].Text == nil || !slices.Contains(Labels(), *c.Fields[0].Text) {
					t.Errorf("ENC-2: the structured value does not start with a label of Appendix B")
				}
			}
		})
	}
	covered := map[ExpandLabel]bool{}
	for _, c := range v.Expand {
		t.Run("expand/"+c.ID, func(t *testing.T) {
			label := ExpandLabel(c.Label)
			if !slices.Contains(ExpandLabels(), label) {
				t.Fatalf("ENC-4: %q is not an Expand label", c.Label)
			}
			covered[label] = true
			if info := ExpandInfo(label, c.Ctx, c.N); !bytes.Equal(info, c.Info) {
				t.Errorf("ENC-3: info %x, want %x", info, c.Info)
			}
			out, err := Expand(c.Secret, label, c.Ctx, c.N)
			if err != nil || !bytes.Equal(out, c.Output) {
				t.Errorf("ENC-3: Expand = %x, %v; want %x", out, err, c.Output)
			}
			raw, err := HKDFExpand(c.Secret, c.Info, c.N)
			if err != nil || !bytes.Equal(raw, c.Output) {
				t.Errorf("HKDF-Expand = %x, %v", raw, err)
			}
		})
	}
	for _, l := range ExpandLabels() {
		if !covered[l] {
			t.Errorf("ENC-3: no Expand vector for %q", l)
		}
	}
}

// appendFields encodes vector fields with the Append functions, using the
// typed list helpers where a list holds only texts or only byte strings.
func appendFields(dst []byte, fields []vectors.EncField) ([]byte, error) {
	for _, f := range fields {
		var err error
		switch {
		case f.Type == "bytes" && f.Hex != nil:
			dst = AppendBytes(dst, *f.Hex)
		case f.Type == "text" && f.Text != nil:
			dst = AppendText(dst, *f.Text)
		case f.Type == "uint64" && f.Uint64 != nil:
			var u uint64
			if u, err = strconv.ParseUint(*f.Uint64, 10, 64); err == nil {
				dst = AppendUint64(dst, u)
			}
		case f.Type == "list" && f.Items != nil:
			dst, err = appendList(dst, *f.Items)
		default:
			return nil, fmt.Errorf("enc: field of type %s without its value", f.Type)
		}
		if err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func appendList(dst []byte, items []vectors.EncField) ([]byte, error) {
	texts, byteStrings := true, true
	var ts []string
	var bs [][]byte
	for _, it := range items {
		texts = texts && it.Type == "text" && it.Text != nil
		byteStrings = byteStrings && it.Type == "bytes" && it.Hex != nil
		if it.Text != nil {
			ts = append(ts, *it.Text)
		}
		if it.Hex != nil {
			bs = append(bs, *it.Hex)
		}
	}
	dst, mark := BeginList(dst)
	dst, err := appendFields(dst, items)
	if err != nil {
		return nil, err
	}
	dst = EndList(dst, mark)
	// The typed helpers must agree with BeginList and EndList.
	switch {
	case len(items) > 0 && texts:
		if !bytes.HasSuffix(dst, AppendTextList(nil, ts)) {
			return nil, errors.New("enc: AppendTextList differs from BeginList and EndList")
		}
	case len(items) > 0 && byteStrings:
		if !bytes.HasSuffix(dst, AppendBytesList(nil, bs)) {
			return nil, errors.New("enc: AppendBytesList differs from BeginList and EndList")
		}
	}
	return dst, nil
}
