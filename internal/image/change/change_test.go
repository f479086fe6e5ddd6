package change

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cfg, err := Parse([]string{
		`CMD ["/bin/sh", "-c", "echo hi"]`,
		`ENTRYPOINT /bin/echo hello`,
		`ENV PATH=/bin:/usr/bin GREETING="hello world"`,
		`ENV LEGACY some value`,
		`env PATH=/sbin`,
		`LABEL a=b c='d e'`,
		`WORKDIR /srv`,
		`USER 1000:1000`,
		`EXPOSE 80 53/udp`,
		`VOLUME ["/data"]`,
		`STOPSIGNAL SIGINT`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Cmd":        []string{"/bin/sh", "-c", "echo hi"},
		"Entrypoint": []string{"/bin/sh", "-c", "/bin/echo hello"},
		"Env":        []string{"PATH=/sbin", "GREETING=hello world", "LEGACY=some value"},
		"Labels":     map[string]string{"a": "b", "c": "d e"},
	}
	got := map[string]any{"Cmd": cfg.Cmd, "Entrypoint": cfg.Entrypoint, "Env": cfg.Env, "Labels": cfg.Labels}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if cfg.WorkingDir != "/srv" || cfg.User != "1000:1000" || cfg.StopSignal != "SIGINT" {
		t.Errorf("cfg = %+v", cfg)
	}
	if _, ok := cfg.ExposedPorts["53/udp"]; !ok || len(cfg.ExposedPorts) != 2 {
		t.Errorf("ports = %v", cfg.ExposedPorts)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("volumes = %v", cfg.Volumes)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		`FROM busybox`:     "unknown instruction",
		`CMD [not json`:    "invalid JSON",
		`CMD`:              "needs an argument",
		`ENV A="unclosed`:  "unterminated",
		`ENV =x`:           "not KEY=VALUE",
		`ENV LONELY`:       "has no value",
		`WORKDIR relative`: "absolute",
		`EXPOSE http`:      "invalid port",
		`USER a b`:         "spaces",
		`LABEL k`:          "has no value",
	}
	for in, want := range cases {
		_, err := Parse([]string{`CMD ["ok"]`, in})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--change 2") {
			t.Errorf("Parse(%q) = %v, want error with %q and its position", in, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`ENV A="b c" D=e`)
	f.Add(`CMD ["x"]`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Parse([]string{s})
	})
}
