// Package change applies Dockerfile-style instructions (`brig import
// --change 'CMD ["/bin/sh"]'`) to an image config, as `docker import -c`
// does.
package change

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Parse applies each instruction in order to an empty config. Errors name
// the instruction by its 1-based position.
func Parse(changes []string) (ocispec.ImageConfig, error) {
	var cfg ocispec.ImageConfig
	for i, c := range changes {
		if err := apply(&cfg, c); err != nil {
			return cfg, fmt.Errorf("--change %d (%q): %w", i+1, c, err)
		}
	}
	return cfg, nil
}

var portRe = regexp.MustCompile(`^[0-9]{1,5}(-[0-9]{1,5})?(/(tcp|udp|sctp))?$`)

func apply(cfg *ocispec.ImageConfig, line string) error {
	line = strings.TrimSpace(line)
	word, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	if word == "" {
		return fmt.Errorf("empty instruction")
	}
	if rest == "" {
		return fmt.Errorf("%s needs an argument", strings.ToUpper(word))
	}
	switch strings.ToUpper(word) {
	case "CMD":
		args, err := command(rest)
		cfg.Cmd = args
		return err
	case "ENTRYPOINT":
		args, err := command(rest)
		cfg.Entrypoint = args
		return err
	case "ENV":
		kv, err := pairs(rest)
		if err != nil {
			return err
		}
		for _, p := range kv {
			cfg.Env = setEnv(cfg.Env, p[0], p[1])
		}
	case "LABEL":
		kv, err := pairs(rest)
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, p := range kv {
			cfg.Labels[p[0]] = p[1]
		}
	case "WORKDIR":
		if !strings.HasPrefix(rest, "/") {
			return fmt.Errorf("WORKDIR %q is not an absolute path", rest)
		}
		cfg.WorkingDir = rest
	case "USER":
		if strings.ContainsAny(rest, " \t") {
			return fmt.Errorf("USER %q contains spaces", rest)
		}
		cfg.User = rest
	case "STOPSIGNAL":
		cfg.StopSignal = rest
	case "EXPOSE":
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range strings.Fields(rest) {
			if !portRe.MatchString(p) {
				return fmt.Errorf("EXPOSE: invalid port %q (want PORT[/tcp|udp|sctp])", p)
			}
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case "VOLUME":
		vols := strings.Fields(rest)
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &vols); err != nil {
				return fmt.Errorf("VOLUME: invalid JSON array: %w", err)
			}
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range vols {
			cfg.Volumes[v] = struct{}{}
		}
	default:
		return fmt.Errorf("unknown instruction %q (supported: CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, STOPSIGNAL, EXPOSE, VOLUME)", word)
	}
	return nil
}

// command parses the exec form (a JSON array) or the shell form, which runs
// under /bin/sh -c.
func command(s string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		var args []string
		if err := json.Unmarshal([]byte(s), &args); err != nil {
			return nil, fmt.Errorf("invalid JSON array: %w", err)
		}
		return args, nil
	}
	return []string{"/bin/sh", "-c", s}, nil
}

// pairs parses `K=V K2="V 2"` or the legacy one-pair form `K V`.
func pairs(s string) ([][2]string, error) {
	first, rest, _ := strings.Cut(s, " ")
	if !strings.Contains(first, "=") {
		if rest = strings.TrimSpace(rest); rest == "" {
			return nil, fmt.Errorf("%q has no value", first)
		}
		return [][2]string{{first, rest}}, nil
	}
	words, err := split(s)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// split breaks s into words at unquoted blanks, honouring "..." and '...'
// quoting and backslash escapes.
func split(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	var quote rune
	inWord, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		return nil, fmt.Errorf("trailing backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
