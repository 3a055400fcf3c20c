package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// sampleWidth is the column at which sample comments are wrapped.
const sampleWidth = 78

// WriteSample writes Neutron's defaults as an editable YAML policy file, in
// the manner of oslopolicy-sample-generator. Every rule is commented out, so
// the file as written changes nothing; each is preceded by its description,
// the API operations it covers, its intended scopes and any deprecation. To
// change a rule, uncomment its line and edit the check string.
func WriteSample(w io.Writer) error {
	bw := bufio.NewWriter(w)
	writeWrapped(bw, "Neutron API policy. Every rule below shows its default and is commented "+
		"out; a rule that is absent from this file keeps its default. To change a "+
		"rule, remove the leading \"#\" from its line and edit the check string.")
	bw.WriteString("\n")
	for i := range defaultRules {
		r := &defaultRules[i]
		if r.Description != "" {
			writeWrapped(bw, r.Description)
		}
		for _, op := range r.Operations {
			fmt.Fprintf(bw, "# %-7s %s\n", op.Method, op.Path)
		}
		if len(r.ScopeTypes) > 0 {
			fmt.Fprintf(bw, "# Intended scope(s): %s\n", strings.Join(r.ScopeTypes, ", "))
		}
		if d := r.Deprecated; d != nil {
			bw.WriteString("#\n")
			var msg string
			switch {
			case d.Name != r.Name:
				msg = fmt.Sprintf("This rule was renamed from %s in %s, when its default "+
					"was %s. An override of the old name still applies to this rule "+
					"unless the new name is overridden too.",
					yamlQuote(d.Name), d.Since, yamlQuote(d.CheckStr))
			case d.CheckStr == r.CheckStr:
				msg = fmt.Sprintf("The default was reviewed in %s and kept as it was.", d.Since)
			default:
				msg = fmt.Sprintf("The previous default, %s, was deprecated in %s; it "+
					"still grants access while enforce_new_defaults is false.",
					yamlQuote(d.CheckStr), d.Since)
			}
			writeWrapped(bw, msg)
			if d.Reason != "" {
				writeWrapped(bw, "Reason: "+d.Reason)
			}
		}
		if r.DeprecatedReason != "" {
			bw.WriteString("#\n")
			what := "This rule is deprecated"
			if r.DeprecatedForRemoval {
				what = "This rule is deprecated for removal"
			}
			if r.DeprecatedSince != "" {
				what += " since " + r.DeprecatedSince
			}
			writeWrapped(bw, what+": "+r.DeprecatedReason)
		}
		fmt.Fprintf(bw, "#%s: %s\n\n", yamlQuote(r.Name), yamlQuote(r.CheckStr))
	}
	return bw.Flush()
}

// writeWrapped writes text as "# " comment lines wrapped at sampleWidth.
func writeWrapped(w *bufio.Writer, text string) {
	line := "#"
	for _, word := range strings.Fields(text) {
		if len(line) > 1 && len(line)+1+len(word) > sampleWidth {
			w.WriteString(line + "\n")
			line = "#"
		}
		line += " " + word
	}
	w.WriteString(line + "\n")
}

// yamlQuote renders s as a double-quoted scalar, valid in both YAML and JSON.
func yamlQuote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}
