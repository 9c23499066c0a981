package gen

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// readmeRow is a row of the file table of vectors/README.md: | `FILE` | what | positive |
// negative | malformed | rules |.
var readmeRow = regexp.MustCompile("^\\| `([a-z_]+\\.json)` \\|")

// readmeCounts returns the README with the negative and malformed columns of its file table
// computed from the generated files, so that the counts never drift from the vectors.
func readmeCounts(readme []byte, files []File) ([]byte, error) {
	counts := map[string][2]int{}
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".schema.json") {
			continue
		}
		var v struct {
			Negative  []json.RawMessage `json:"negative"`
			Malformed []json.RawMessage `json:"malformed"`
		}
		if err := json.Unmarshal(f.Data, &v); err != nil {
			return nil, fmt.Errorf("gen: readme: %s: %w", f.Name, err)
		}
		counts[f.Name] = [2]int{len(v.Negative), len(v.Malformed)}
	}
	lines := strings.Split(string(readme), "\n")
	seen := 0
	for i, l := range lines {
		m := readmeRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		c, ok := counts[m[1]]
		if !ok {
			return nil, fmt.Errorf("gen: readme: the table lists %s, which the generator does not write", m[1])
		}
		cells := strings.Split(l, " | ")
		if len(cells) != 6 {
			return nil, fmt.Errorf("gen: readme: the row of %s has %d cells, want 6", m[1], len(cells))
		}
		cells[3], cells[4] = count(c[0]), count(c[1])
		lines[i] = strings.Join(cells, " | ")
		seen++
	}
	if seen != len(counts) {
		return nil, fmt.Errorf("gen: readme: the table has %d rows for %d vector files", seen, len(counts))
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// count writes a count as the table does: a dash for none.
func count(n int) string {
	if n == 0 {
		return "—"
	}
	return strconv.Itoa(n)
}
