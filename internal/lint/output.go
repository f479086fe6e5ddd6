package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Output formats.
const (
	FormatText  = "text"
	FormatJSON  = "json"
	FormatSARIF = "sarif"
)

// Write prints findings in the given format.
func Write(w io.Writer, format string, fs []Finding) error {
	switch format {
	case FormatText, "":
		return writeText(w, fs)
	case FormatJSON:
		return writeJSON(w, fs)
	case FormatSARIF:
		return writeSARIF(w, fs)
	}
	return fmt.Errorf("unknown format %q (want text, json or sarif)", format)
}

func where(f Finding) string {
	switch {
	case f.File == "":
		return "command line"
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

func writeText(w io.Writer, fs []Finding) error {
	var b strings.Builder
	count := map[Severity]int{}
	for _, f := range fs {
		count[f.Severity]++
		ref := f.Rule
		if f.CIS != "" {
			ref += " CIS " + f.CIS
		}
		fmt.Fprintf(&b, "%s: %s [%s] %s: %s\n    fix: %s\n", where(f), strings.ToUpper(f.Severity.String()), ref, f.Container, f.Reason, f.Fix)
	}
	if len(fs) == 0 {
		b.WriteString("no findings\n")
	} else {
		var parts []string
		for s := Critical; s >= Info; s-- {
			if count[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
			}
		}
		fmt.Fprintf(&b, "%d findings: %s\n", len(fs), strings.Join(parts, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Report is the JSON output.
type Report struct {
	Findings []Finding      `json:"findings"`
	Summary  map[string]int `json:"summary"`
}

func writeJSON(w io.Writer, fs []Finding) error {
	r := Report{Findings: fs, Summary: map[string]int{}}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for s := Info; s <= Critical; s++ {
		r.Summary[s.String()] = 0
	}
	for _, f := range fs {
		r.Summary[f.Severity.String()]++
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteRules prints the rule list for "brig lint --rules".
func WriteRules(w io.Writer, format string) error {
	if format == FormatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(Rules)
	}
	if format != FormatText && format != "" {
		return fmt.Errorf("--rules prints text or json, not %q", format)
	}
	var b strings.Builder
	b.WriteString("CIS numbers refer to the CIS Docker Benchmark v1.6.0 (section 4.1 is about images).\n\n")
	for _, r := range Rules {
		cis := "-"
		if r.CIS != "" {
			cis = "CIS " + r.CIS
		}
		fmt.Fprintf(&b, "%s  %-8s  %-8s  %s\n    %s\n    fix: %s\n", r.ID, r.Severity, cis, r.Title, r.Doc, r.Fix)
		if len(r.NotFor) > 0 {
			fmt.Fprintf(&b, "    not checked for: %s (the input cannot express it)\n", strings.Join(r.NotFor, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
