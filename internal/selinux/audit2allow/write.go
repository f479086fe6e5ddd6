package audit2allow

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Options shape the output, after audit2allow's flags.
type Options struct {
	Dontaudit bool   // -D: dontaudit rules instead of allow
	Xperms    bool   // -x: allowxperm rules for ioctl commands
	Explain   bool   // -e/--explain: why each rule is there
	Requires  bool   // -r: a require block for the types and classes used
	Module    string // -m NAME: a complete module (implies the require block)
}

// Write prints rules in audit2allow's layout: a section per source type,
// rules sorted by target, reason comments before the rules they explain.
// Explanations are always comments, so the output always compiles.
func Write(w io.Writer, rules []Rule, o Options) error {
	bw := bufio.NewWriter(w)
	if o.Module != "" {
		fmt.Fprintf(bw, "module %s 1.0;\n\n", o.Module)
	}
	if o.Module != "" || o.Requires {
		writeRequire(bw, rules, nil)
	}
	writeRules(bw, rules, o)
	return bw.Flush()
}

func writeRules(bw *bufio.Writer, rules []Rule, o Options) {
	verb, xverb := "allow", "allowxperm"
	if o.Dontaudit {
		verb, xverb = "dontaudit", "dontauditxperm"
	}
	bw.WriteString("\n")
	section := ""
	for i := range rules {
		r := &rules[i]
		if r.Source != section || i == 0 {
			section = r.Source
			fmt.Fprintf(bw, "\n#============= %s ==============\n", section)
		}
		notes := explain(r, o.Explain)
		if len(notes) > 0 {
			bw.WriteString("\n")
			for _, n := range notes {
				bw.WriteString(n)
				bw.WriteByte('\n')
			}
		}
		fmt.Fprintf(bw, "%s %s %s:%s %s;\n", verb, r.Source, r.Target, r.Class, permString(r.Perms))
		if o.Xperms && len(r.Ioctl) > 0 && contains(r.Perms, "ioctl") {
			fmt.Fprintf(bw, "%s %s %s:%s ioctl %s;\n", xverb, r.Source, r.Target, r.Class, ioctlString(r.Ioctl))
		}
	}
}

// explain returns the comment lines for a rule. The MCS warning and the
// policy's answers (with --policy) are always given, as audit2allow gives
// its reasons; full adds the record count, the first record and the
// reason when no policy was read.
func explain(r *Rule, full bool) []string {
	var out []string
	if full {
		s := fmt.Sprintf("# %d denial", r.Count)
		if r.Count != 1 {
			s += "s"
		}
		s += ", first " + r.First.String()
		if r.Comm != "" {
			s += fmt.Sprintf(" comm=%q", r.Comm)
		}
		if r.Path != "" {
			s += fmt.Sprintf(" path=%q", r.Path)
		}
		out = append(out, s)
	}
	if r.MCS {
		out = append(out,
			"#!!!! This avc is probably an MCS/MLS constraint violation: the source level "+r.SLevel,
			"#!!!! does not dominate the target level "+r.TLevel+". An allow rule does not fix it;",
			"#!!!! give the target the source's categories (for files: a :z/:Z volume or chcon -l)",
			"#!!!! or run the source at a level that dominates the target's.")
	}
	covered := false
	if r.Fact != nil {
		var notes []string
		notes, covered = policyNotes(r, r.Fact)
		out = append(out, notes...)
	}
	if !full {
		return out
	}
	switch {
	case r.Permissive == r.Count:
		out = append(out, "#!!!! Logged in permissive mode (permissive=1): the access was allowed and will be",
			"#!!!! denied when enforcing.")
	case r.Permissive > 0:
		out = append(out, fmt.Sprintf("#!!!! %d of the denials were logged in permissive mode.", r.Permissive))
	}
	if !r.MCS && !covered {
		out = append(out, "#!!!! Missing type enforcement (TE) allow rule.")
	}
	if r.Fact == nil && !r.MCS {
		out = append(out, "#!!!! (No policy read: existing rules, booleans and constraints were not checked; see --policy.)")
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeRequire prints a require block for the types and class permissions
// the rules use, leaving out types in skip (those the module declares).
func writeRequire(bw *bufio.Writer, rules []Rule, skip map[string]bool) {
	types := map[string]bool{}
	classes := map[string]map[string]bool{}
	for _, r := range rules {
		for _, t := range []string{r.Source, r.Target} {
			if t != "self" && !skip[t] {
				types[t] = true
			}
		}
		if classes[r.Class] == nil {
			classes[r.Class] = map[string]bool{}
		}
		for _, p := range r.Perms {
			classes[r.Class][p] = true
		}
	}
	bw.WriteString("require {\n")
	for _, t := range sortedKeys(types) {
		fmt.Fprintf(bw, "\ttype %s;\n", t)
	}
	for _, c := range sortedKeys(classes) {
		fmt.Fprintf(bw, "\tclass %s %s;\n", c, permString(sortedKeys(classes[c])))
	}
	bw.WriteString("}\n")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// banner is what audit2allow -M prints after building a package.
func Banner(name string) string {
	return strings.Join([]string{
		"******************** IMPORTANT ***********************",
		"To make this policy package active, execute:",
		"",
		"semodule -i " + name + ".pp",
		"",
	}, "\n")
}
