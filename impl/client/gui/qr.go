package gui

import (
	"fmt"
	"strings"

	"rsc.io/qr"
)

// quietZone is the blank margin around a QR code, in modules (ISO/IEC 18004 asks for 4).
const quietZone = 4

// qrSVG renders text as a QR code in an SVG image: black modules on white, whatever the page's
// theme, so that a phone can scan it from the screen.
func qrSVG(text string) (string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("gui: qr code: %w", err)
	}
	n := code.Size + 2*quietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quietZone, y+quietZone)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
