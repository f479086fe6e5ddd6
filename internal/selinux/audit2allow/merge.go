package audit2allow

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// The article's loop appends `audit2allow` output to the module with >>,
// which duplicates rules on every round and fails to compile because the
// appended rules name types the module never required. Merge fixes both.

var (
	comment = regexp.MustCompile(`#[^\n]*`)
	set     = `(\{[^}]*\}|[^\s{};:]+)`
	avRule  = regexp.MustCompile(`\b(allow|dontaudit)\s+` + set + `\s+` + set + `\s*:\s*` + set + `\s+` + set + `\s*;`)
	typeDef = regexp.MustCompile(`(?m)^\s*type\s+([A-Za-z][\w.-]*)\s*[,;]`)
	// Templates such as container_domain_template(NAME) declare NAME_t.
	template = regexp.MustCompile(`\b\w+_template\(\s*` + "`?" + `([A-Za-z][\w.-]*)`)
)

func items(s string) []string {
	return strings.Fields(strings.Trim(s, "{}"))
}

type permKey struct{ verb, src, tgt, class, perm string }

// Existing is what a .te file already says.
type Existing struct {
	rules    map[permKey]bool
	declared map[string]bool
}

// ParseExisting reads the literal allow/dontaudit rules and the declared
// types of a .te file. Interface calls and permission-set macros
// (create_socket_perms) are opaque here: rules they would grant are added
// again, which is harmless.
func ParseExisting(te []byte) *Existing {
	text := comment.ReplaceAllString(string(te), "")
	e := &Existing{rules: map[permKey]bool{}, declared: map[string]bool{}}
	for _, m := range avRule.FindAllStringSubmatch(text, -1) {
		for _, s := range items(m[2]) {
			for _, t := range items(m[3]) {
				if t == s {
					t = "self"
				}
				for _, c := range items(m[4]) {
					for _, p := range items(m[5]) {
						e.rules[permKey{m[1], s, t, c, p}] = true
					}
				}
			}
		}
	}
	for _, m := range typeDef.FindAllStringSubmatch(text, -1) {
		e.declared[m[1]] = true
	}
	for _, m := range template.FindAllStringSubmatch(text, -1) {
		e.declared[m[1]+"_t"] = true
	}
	return e
}

// Missing returns the rules with the permissions te does not grant yet.
func (e *Existing) Missing(rules []Rule, dontaudit bool) []Rule {
	verb := "allow"
	if dontaudit {
		verb = "dontaudit"
	}
	var out []Rule
	for _, r := range rules {
		var perms []string
		for _, p := range r.Perms {
			if !e.rules[permKey{verb, r.Source, r.Target, r.Class, p}] {
				perms = append(perms, p)
			}
		}
		if len(perms) > 0 {
			r.Perms = perms
			out = append(out, r)
		}
	}
	return out
}

// Merge appends to te the rules it lacks, with a require block for the
// types it does not declare, and returns the new text and the rules
// added. With nothing to add, te comes back unchanged.
func Merge(te []byte, rules []Rule, o Options) ([]byte, []Rule) {
	e := ParseExisting(te)
	add := e.Missing(rules, o.Dontaudit)
	if len(add) == 0 {
		return te, nil
	}
	var b bytes.Buffer
	b.Write(te)
	if len(te) > 0 && te[len(te)-1] != '\n' {
		b.WriteByte('\n')
	}
	bw := bufio.NewWriter(&b)
	n := 0
	for _, r := range add {
		n += len(r.Perms)
	}
	fmt.Fprintf(bw, "\n# brig policy audit2allow: %d permission(s) in %d rule(s) not granted above.\n", n, len(add))
	writeRequire(bw, add, e.declared)
	o.Module, o.Requires = "", false
	writeRules(bw, add, o)
	bw.Flush()
	return b.Bytes(), add
}
