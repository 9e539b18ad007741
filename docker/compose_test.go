package docker

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// compose is the part of a compose file the checks read.
type compose struct {
	Services map[string]struct {
		Build struct {
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Ports       []yaml.Node `yaml:"ports"`
		Environment yaml.Node   `yaml:"environment"`
		Volumes     []yaml.Node `yaml:"volumes"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// dockerfile is what checkCompose needs from the final stage of a Dockerfile.
type dockerfile struct {
	env         map[string]string
	user        string
	healthcheck string
}

// parseDockerfile reads the final stage's ENV, USER and HEALTHCHECK
// instructions (continuation lines joined).
func parseDockerfile(src string) dockerfile {
	var d dockerfile
	var line string
	for _, l := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") && line == "" {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			line += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		line += l
		fields := strings.Fields(line)
		line = ""
		if len(fields) == 0 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			d = dockerfile{env: map[string]string{}}
		case "ENV":
			for _, kv := range fields[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					d.env[k] = v
				}
			}
		case "USER":
			d.user = fields[1]
		case "HEALTHCHECK":
			d.healthcheck = strings.Join(fields[1:], " ")
		}
	}
	return d
}

// checkCompose returns what in the compose file (and the Dockerfile it
// builds) breaks the README's promises.
func checkCompose(composeYAML []byte, df dockerfile) []string {
	var c compose
	if err := yaml.Unmarshal(composeYAML, &c); err != nil {
		return []string{fmt.Sprintf("compose.yaml: %v", err)}
	}
	if len(c.Services) == 0 {
		return []string{"compose.yaml: no services"}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if df.user == "" || df.user == "root" || df.user == "0" || strings.HasPrefix(df.user, "0:") {
		bad("Dockerfile: the image runs as %q, want a non-root USER", df.user)
	}
	if !strings.Contains(df.healthcheck, `CMD ["qlab-healthcheck"]`) {
		bad("Dockerfile: HEALTHCHECK %q, want CMD [\"qlab-healthcheck\"]", df.healthcheck)
	}
	results := df.env["QLAB_RESULTS_DIR"]
	if results == "" {
		bad("Dockerfile: no ENV QLAB_RESULTS_DIR")
	}
	for name, s := range c.Services {
		if s.Build.Dockerfile != "docker/Dockerfile" {
			bad("service %s: builds %q, want docker/Dockerfile", name, s.Build.Dockerfile)
		}
		if len(s.Ports) == 0 {
			bad("service %s: publishes no port", name)
		}
		for _, p := range s.Ports {
			if ip := hostIP(p); ip != "127.0.0.1" {
				bad("service %s: port %s is published on %q, want 127.0.0.1 only", name, nodeText(p), ip)
			}
		}
		if token := envValue(s.Environment, "JUPYTER_TOKEN"); token == "" {
			bad("service %s: no JUPYTER_TOKEN (the server would run without one)", name)
		}
		mounted := false
		for _, v := range s.Volumes {
			source, target := volumeMount(v)
			if target != results {
				continue
			}
			if _, named := c.Volumes[source]; !named {
				bad("service %s: %s is mounted from %q, not a named volume", name, results, source)
			}
			mounted = true
		}
		if !mounted && results != "" {
			bad("service %s: no volume at QLAB_RESULTS_DIR %s", name, results)
		}
	}
	return problems
}

// hostIP is the host address a compose port entry publishes on ("" for all).
func hostIP(n yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		var long struct {
			HostIP string `yaml:"host_ip"`
		}
		if err := n.Decode(&long); err != nil {
			return ""
		}
		return long.HostIP
	}
	// HOST_IP:HOST_PORT:CONTAINER_PORT; shorter forms publish on every address.
	parts := strings.Split(n.Value, ":")
	if len(parts) < 3 {
		return ""
	}
	return strings.Join(parts[:len(parts)-2], ":")
}

// envValue reads KEY from a compose environment (a map or a KEY=VALUE list).
func envValue(n yaml.Node, key string) string {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1].Value
			}
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if k, v, ok := strings.Cut(item.Value, "="); ok && k == key {
				return v
			}
		}
	}
	return ""
}

// volumeMount returns a compose volume entry's source and target.
func volumeMount(n yaml.Node) (source, target string) {
	if n.Kind == yaml.MappingNode {
		var long struct {
			Source string `yaml:"source"`
			Target string `yaml:"target"`
		}
		if err := n.Decode(&long); err != nil {
			return "", ""
		}
		return long.Source, long.Target
	}
	parts := strings.Split(n.Value, ":")
	if len(parts) < 2 {
		return "", parts[0]
	}
	return parts[0], parts[1]
}

func nodeText(n yaml.Node) string {
	out, err := yaml.Marshal(&n)
	if err != nil {
		return n.Value
	}
	return strings.TrimSpace(string(out))
}

func TestComposeAndDockerfile(t *testing.T) {
	c, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkCompose(c, parseDockerfile(string(d))) {
		t.Error(p)
	}
}

// TestCheckCompose shows that the checks catch each broken promise.
func TestCheckCompose(t *testing.T) {
	good := dockerfile{
		env:         map[string]string{"QLAB_RESULTS_DIR": "/home/qlab/results"},
		user:        "qlab",
		healthcheck: `--interval=30s CMD ["qlab-healthcheck"]`,
	}
	const base = `
services:
  qlab:
    build: {context: .., dockerfile: docker/Dockerfile}
    ports: [%s]
    environment: %s
    volumes: [%s]
volumes:
  results:
`
	file := func(ports, env, volumes string) []byte {
		return []byte(fmt.Sprintf(base, ports, env, volumes))
	}
	okEnv, okVol := `{JUPYTER_TOKEN: "${QLAB_TOKEN:-qlab}"}`, `"results:/home/qlab/results"`
	root := good
	root.user = "root"
	noHealth := good
	noHealth.healthcheck = "NONE"
	tests := []struct {
		name    string
		compose []byte
		df      dockerfile
		want    string // a substring of the one problem, "" for none
	}{
		{"ok", file(`"127.0.0.1:8888:8888"`, okEnv, okVol), good, ""},
		{"ok long syntax", file(`{target: 8888, published: 8888, host_ip: 127.0.0.1}`,
			`["JUPYTER_TOKEN=x"]`, `{type: volume, source: results, target: /home/qlab/results}`), good, ""},
		{"all addresses", file(`"8888:8888"`, okEnv, okVol), good, `published on ""`},
		{"0.0.0.0", file(`"0.0.0.0:8888:8888"`, okEnv, okVol), good, `published on "0.0.0.0"`},
		{"long syntax without host_ip", file(`{target: 8888, published: 8888}`, okEnv, okVol), good, `published on ""`},
		{"no token", file(`"127.0.0.1:8888:8888"`, `{OTHER: x}`, okVol), good, "no JUPYTER_TOKEN"},
		{"bind mount", file(`"127.0.0.1:8888:8888"`, okEnv, `"./results:/home/qlab/results"`), good, "not a named volume"},
		{"results elsewhere", file(`"127.0.0.1:8888:8888"`, okEnv, `"results:/data"`), good, "no volume at QLAB_RESULTS_DIR"},
		{"root", file(`"127.0.0.1:8888:8888"`, okEnv, okVol), root, "non-root USER"},
		{"no healthcheck script", file(`"127.0.0.1:8888:8888"`, okEnv, okVol), noHealth, "HEALTHCHECK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkCompose(tt.compose, tt.df)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("got problems %q; want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("got problems %q; want one containing %q", got, tt.want)
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	d := parseDockerfile(`FROM a AS build
ENV X=1
USER builder
FROM b
ENV A=1 \
    QLAB_RESULTS_DIR=/r
# HEALTHCHECK NONE
USER qlab
HEALTHCHECK --interval=30s \
  CMD ["qlab-healthcheck"]
`)
	if d.user != "qlab" || d.env["QLAB_RESULTS_DIR"] != "/r" || d.env["X"] != "" ||
		d.healthcheck != `--interval=30s CMD ["qlab-healthcheck"]` {
		t.Errorf("got %+v; want the final stage's user qlab, QLAB_RESULTS_DIR=/r, the healthcheck CMD", d)
	}
}
