package harness

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// The JUnit XML shapes, as CI systems read them.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitMessage `xml:"failure,omitempty"`
		Skipped   *junitMessage `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitMessage struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes the report as JUnit XML: one testsuite per suite (the first segment of the
// case ids), one testcase per case. Failures carry the readable details; warnings are written
// to system-out (as failures under --strict), unimplemented, skipped and expected-failure cases
// are skipped.
func (r *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Time: seconds(r.Duration.Seconds())}
	index := map[string]int{}
	var durations []float64
	for _, res := range r.Results {
		suite, _, _ := strings.Cut(res.ID, "/")
		i, ok := index[suite]
		if !ok {
			i = len(out.Suites)
			index[suite] = i
			out.Suites = append(out.Suites, junitSuite{Name: suite, Properties: r.junitProperties()})
			durations = append(durations, 0)
		}
		durations[i] += res.Duration.Seconds()
		s := &out.Suites[i]
		jc := junitCase{Name: res.ID, Classname: classname(res.ID), Time: seconds(res.Duration.Seconds())}
		var details strings.Builder
		res.writeDetails(&printer{w: &details}, false)
		msg := firstMessage(res)
		switch res.Verdict {
		case Fail:
			jc.Failure = &junitMessage{Message: msg, Type: string(res.Level), Text: details.String()}
			s.Failures++
		case Warn:
			jc.SystemOut = "WARN (SHOULD): " + details.String()
		case Unimplemented, Skip, ExpectedFail:
			jc.Skipped = &junitMessage{Message: string(res.Verdict) + ": " + msg}
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, jc)
	}
	for i := range out.Suites {
		s := &out.Suites[i]
		s.Time = seconds(durations[i])
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("conform: junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// classname is the id without its last segment, with dots: "server.registration".
func classname(id string) string {
	i := strings.LastIndex(id, "/")
	if i < 0 {
		return id
	}
	return strings.ReplaceAll(id[:i], "/", ".")
}

// firstMessage is the headline of a result that did not pass.
func firstMessage(res Result) string {
	switch {
	case len(res.Failures) > 0:
		return res.Failures[0].Message
	case res.Reason != "":
		return res.Reason
	case res.ExpectedFailure != "":
		return res.ExpectedFailure
	}
	return string(res.Verdict)
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }

// junitProperties are the seed and, when known, the URLs of the system under test: "urls", their
// number, then "url.1", "url.1.connections" and so on.
func (r *Report) junitProperties() []junitProperty {
	props := []junitProperty{{"seed", fmt.Sprint(r.Seed)}}
	if len(r.Targets) > 0 {
		props = append(props, junitProperty{"urls", fmt.Sprint(len(r.Targets))})
	}
	for i, tg := range r.Targets {
		props = append(props, junitProperty{fmt.Sprintf("url.%d", i+1), tg.URL},
			junitProperty{fmt.Sprintf("url.%d.connections", i+1), fmt.Sprint(tg.Connections)})
	}
	return props
}
