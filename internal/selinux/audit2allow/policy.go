package audit2allow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// Fact is what a binary policy says about one rule's permissions.
type Fact struct {
	Unknown   []string `json:"unknown"`   // types the policy lacks
	Allowed   []string `json:"allow"`     // granted by unconditional rules
	Dontaudit []string `json:"dontaudit"` // silenced by dontaudit rules in effect
	Bools     []Bool   `json:"cond"`      // granted by conditional rules
	// BadRole is set when the source role may not hold the source type:
	// audit2allow drops such denials as invalid contexts.
	BadRole string `json:"badrole"`
}

// Bool is a conditional allow: Perms are granted while Expr == Block.
type Bool struct {
	Expr   string   `json:"expr"`
	Block  bool     `json:"block"`
	Active bool     `json:"active"`
	Perms  []string `json:"perms"`
}

// Python is the interpreter with setools; Debian installs python3-setools
// for the system python, not for pyenv or venv shims earlier in PATH.
var Python = "/usr/bin/python3"

// policyScript reads the queries on stdin and answers them in one pass
// over the policy's rules: per-rule TERuleQuery calls take seconds each.
const policyScript = `
import sys, json
try:
    import setools
except ImportError:
    sys.exit("setools is not installed")
pol = setools.SELinuxPolicy(sys.argv[1])
qs = json.load(sys.stdin)
types = {str(t) for t in pol.types()}
bools = {str(b): b.state for b in pol.bools()}
ws = {q["s"] for q in qs}; wt = {q["t"] for q in qs}; wc = {q["c"] for q in qs}
idx = {}
for i, q in enumerate(qs):
    idx.setdefault((q["s"], q["t"], q["c"]), []).append(i)
res = [{"unknown": sorted({q["s"], q["t"]} - types), "allow": [], "dontaudit": [], "cond": [], "badrole": ""} for q in qs]
roles = {}
for i, q in enumerate(qs):
    r = q["r"]
    if not r or r == "object_r" or q["s"] not in types:
        continue
    if r not in roles:
        try:
            roles[r] = {str(t) for t in pol.lookup_role(r).types()}
        except Exception:
            roles[r] = None
    if roles[r] is None:
        res[i]["badrole"] = r + " (no such role)"
    elif q["s"] not in roles[r]:
        res[i]["badrole"] = r
exp = {}
def names(x):
    k = str(x)
    if k not in exp:
        try:
            exp[k] = {str(t) for t in x.expand()}
        except AttributeError:
            exp[k] = {k}
    return exp[k]
for r in pol.terules():
    kind = str(r.ruletype)
    if kind not in ("allow", "dontaudit") or str(r.tclass) not in wc:
        continue
    ss = names(r.source) & ws
    if not ss:
        continue
    tt = names(r.target) & wt
    if not tt:
        continue
    rp = {str(p) for p in r.perms}
    try:
        cond = r.conditional
    except Exception:
        cond = None
    for s in ss:
        for t in tt:
            for i in idx.get((s, t, str(r.tclass)), ()):
                perms = sorted(rp & set(qs[i]["p"]))
                if not perms:
                    continue
                if kind == "dontaudit":
                    if cond is None or cond.evaluate(**bools) == bool(r.conditional_block):
                        res[i]["dontaudit"] += perms
                elif cond is None:
                    res[i]["allow"] += perms
                else:
                    res[i]["cond"].append({"expr": str(cond), "block": bool(r.conditional_block),
                        "active": cond.evaluate(**bools) == bool(r.conditional_block), "perms": perms})
json.dump(res, sys.stdout)
`

// PolicyFacts asks a binary policy (policy.33) about each rule, with
// setools, in one python3 process.
func PolicyFacts(ctx context.Context, policy string, rules []Rule) ([]Fact, error) {
	type query struct {
		S string   `json:"s"`
		T string   `json:"t"`
		C string   `json:"c"`
		P []string `json:"p"`
		R string   `json:"r"`
	}
	qs := make([]query, len(rules))
	for i, r := range rules {
		t := r.Target
		if t == "self" {
			t = r.Source
		}
		qs[i] = query{r.Source, t, r.Class, r.Perms, r.Role}
	}
	in, err := json.Marshal(qs)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath(Python); err != nil {
		return nil, fmt.Errorf("--policy needs %s with setools: install setools (Debian) or python3-setools (Fedora)", Python)
	}
	cmd := exec.CommandContext(ctx, Python, "-c", policyScript, policy)
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if strings.Contains(msg, "setools is not installed") {
			return nil, fmt.Errorf("--policy needs setools for %s: install setools (Debian) or python3-setools (Fedora)", Python)
		}
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:] // the exception line of a traceback
		}
		return nil, fmt.Errorf("reading policy %s: %v: %s", policy, err, msg)
	}
	var facts []Fact
	if err := json.Unmarshal(out.Bytes(), &facts); err != nil || len(facts) != len(rules) {
		return nil, fmt.Errorf("reading policy %s: unexpected answer from setools", policy)
	}
	return facts, nil
}

// policyNotes turns a fact into audit2why-style comment lines. covered
// reports whether the policy already explains the denial.
func policyNotes(r *Rule, f *Fact) (notes []string, covered bool) {
	if len(f.Unknown) > 0 {
		return []string{fmt.Sprintf("#!!!! %s not in the policy: audit2allow would drop this denial.",
			strings.Join(f.Unknown, " and ")+map[bool]string{true: " is", false: " are"}[len(f.Unknown) == 1]),
			"#!!!! The module that declares it must be installed with this rule."}, true
	}
	if f.BadRole != "" {
		notes = append(notes, fmt.Sprintf("#!!!! Role %s may not hold type %s in the policy: audit2allow drops this", f.BadRole, r.Source),
			"#!!!! denial as an invalid context. The rule is kept; the role needs the type too.")
	}
	allowed := map[string]bool{}
	for _, p := range f.Allowed {
		allowed[p] = true
	}
	if all(r.Perms, allowed) {
		return append(notes, "#!!!! This avc is allowed in the current policy (a boolean, a constraint or",
			"#!!!! a different policy at the time of the denial may explain it)."), true
	}
	for _, b := range f.Bools {
		state := "on"
		if !b.Block {
			state = "off"
		}
		now := "currently not in effect"
		if b.Active {
			now = "in effect now: the denial predates it or another check failed"
		}
		notes = append(notes, fmt.Sprintf("#!!!! This avc can be allowed by setting the boolean expression '%s' %s (%s): %s",
			b.Expr, state, now, permString(b.Perms)))
		for _, p := range b.Perms {
			allowed[p] = true
		}
	}
	if len(f.Dontaudit) > 0 {
		notes = append(notes, "#!!!! This avc has a dontaudit rule in the current policy: "+permString(f.Dontaudit))
	}
	return notes, all(r.Perms, allowed)
}

func all(perms []string, set map[string]bool) bool {
	for _, p := range perms {
		if !set[p] {
			return false
		}
	}
	return len(perms) > 0
}
