package config

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// sampleWidth is oslo-config-generator's default wrap width.
const sampleWidth = 70

// WriteSample writes a sample configuration file in the format of
// oslo-config-generator: every registered option commented out, preceded
// by its help text, type, bounds, choices and deprecated names, and set to
// its default. Sections appear DEFAULT first and then sorted by name;
// options appear in registration order, which keeps related options
// together. Ignored keys are not listed.
func (r *Registry) WriteSample(w io.Writer) error {
	r.mu.RLock()
	defer r.mu.RUnlock()

	bySection := make(map[string][]option)
	for _, o := range r.opts {
		bySection[o.Section()] = append(bySection[o.Section()], o)
	}
	var others []string
	for s := range bySection {
		if s != DefaultSection {
			others = append(others, s)
		}
	}
	slices.Sort(others)

	var buf bytes.Buffer
	for i, s := range append([]string{DefaultSection}, others...) {
		if i > 0 {
			buf.WriteString("\n\n")
		}
		fmt.Fprintf(&buf, "[%s]\n", s)
		for _, o := range bySection[s] {
			buf.WriteString("\n")
			writeSampleOpt(&buf, o)
		}
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("config: writing sample: %w", err)
	}
	return nil
}

func writeSampleOpt(buf *bytes.Buffer, o option) {
	help := "(" + o.typeName() + ")"
	if o.Help() != "" {
		help = o.Help() + " " + help
	}
	for _, line := range strings.Split(help, "\n") {
		writeComment(buf, line)
	}
	for _, note := range o.sampleNotes() {
		writeComment(buf, note)
	}
	for _, k := range o.opt().deprecated {
		fmt.Fprintf(buf, "# Deprecated group/name - [%s]/%s\n", k.section, k.name)
	}
	for _, d := range o.sampleDefaults() {
		if d != "" {
			// A multi-line default continues on indented lines, which
			// the parser joins back when the line is uncommented.
			d = " " + strings.ReplaceAll(d, "\n", "\n#    ")
		}
		fmt.Fprintf(buf, "#%s =%s\n", o.Name(), d)
	}
}

// writeComment writes one paragraph of text as "# " lines wrapped at
// sampleWidth columns, never breaking a word; an empty paragraph is "#".
func writeComment(buf *bytes.Buffer, text string) {
	words := strings.Fields(text)
	if len(words) == 0 {
		buf.WriteString("#\n")
		return
	}
	line := "# " + words[0]
	for _, w := range words[1:] {
		if utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > sampleWidth {
			buf.WriteString(line + "\n")
			line = "# " + w
			continue
		}
		line += " " + w
	}
	buf.WriteString(line + "\n")
}
