package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// TestRedefinitionLiveKernel (issue 16, item 5) redefines, over the
// kernel's sockets, a type whose HTML method renders it: the new field and
// the new method show in the rich display of later cells, a function of an
// earlier cell builds the new type, and a value made before is an error
// reply naming the type's earlier definition when used as the new type.
func TestRedefinitionLiveKernel(t *testing.T) {
	c := startKernel(t, binary(t))
	defer c.close()
	for _, cell := range []string{
		"import \"fmt\"\ntype Config struct{ LR float64 }\nfunc (c Config) HTML() string { return fmt.Sprintf(\"<b>lr=%g</b>\", c.LR) }",
		"func defaults() Config { return Config{LR: 0.1} }",
		"old := defaults()",
		"type Config struct {\n\tLR     float64\n\tEpochs int\n}\nfunc (c Config) HTML() string { return fmt.Sprintf(\"<b>lr=%g epochs=%d</b>\", c.LR, c.Epochs) }",
	} {
		if rc, _ := c.execute(cell, 30*time.Second); rc["status"] != "ok" {
			t.Fatalf("%q: reply %v", cell, rc)
		}
	}
	rc, out := c.execute("cfg := defaults()\ncfg.Epochs = 3\ncfg", 30*time.Second)
	results := ofType(out, jupyter.ExecuteResult)
	if rc["status"] != "ok" || len(results) != 1 {
		t.Fatalf("display of the new type: reply %v, %d results; want ok and 1", rc, len(results))
	}
	var res jupyter.ExecuteResultContent
	if err := json.Unmarshal(results[0].Content, &res); err != nil {
		t.Fatal(err)
	}
	if got := res.Data["text/html"]; got != "<b>lr=0.1 epochs=3</b>" {
		t.Errorf("text/html: got %v; want the new HTML method's <b>lr=0.1 epochs=3</b>", got)
	}
	rc, _ = c.execute("var c2 Config\nc2 = old", 30*time.Second)
	if rc["status"] != "error" {
		t.Fatalf("assigning a value of the earlier definition: reply %v; want an error", rc)
	}
	if ev, _ := rc["evalue"].(string); !strings.Contains(ev, "Config (earlier definition)") || !strings.Contains(ev, "Config was redefined") {
		t.Errorf("evalue: got %q; want it to name Config's earlier definition and say it was redefined", ev)
	}
}
