package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/qlab-dev/qlab/kernel/jupyter"
)

// Benchmarks drive the built binary over real zmq4 sockets, as a frontend
// does. Goals (DESIGN): start to kernel_info_reply ≤ 300 ms, trivial cell
// request→idle median ≤ 5 ms, 10-panel histogram figure ≤ 300 ms, idle RSS
// ≤ 150 MB.

// BenchmarkStartup measures process start to kernel_info_reply, and the
// resident memory of the idle kernel after one trivial cell.
func BenchmarkStartup(b *testing.B) {
	bin := binary(b)
	b.ReportAllocs()
	var ds []time.Duration
	var rss float64
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c := startKernel(b, bin)
		ds = append(ds, time.Since(start))
		if i == 0 {
			c.execute("x := 1", 30*time.Second)
			time.Sleep(500 * time.Millisecond)
			mb, err := rssMB(c.cmd.Process.Pid)
			if err != nil {
				b.Fatal(err)
			}
			rss = mb
		}
		c.close()
	}
	b.ReportMetric(ms(median(ds)), "ms-to-kernel-info")
	b.ReportMetric(rss, "idle-RSS-MB")
}

// BenchmarkStartupReply measures start to kernel_info_reply alone, without
// the IOPub handshake startKernel also waits for.
func BenchmarkStartupReply(b *testing.B) {
	bin := binary(b)
	var ds []time.Duration
	for i := 0; i < b.N; i++ {
		p := freePorts(b, 5)
		ci := jupyter.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], IOPubPort: p[1], StdinPort: p[2],
			ControlPort: p[3], HBPort: p[4], SignatureScheme: "hmac-sha256", Key: "k"}
		conn := filepath.Join(b.TempDir(), "c.json")
		raw, _ := json.Marshal(ci)
		if err := writeFile(conn, raw); err != nil {
			b.Fatal(err)
		}
		c := &client{tb: b, signer: jupyter.NewSigner([]byte("k")), session: newID()}
		start := time.Now()
		cmd := exec.Command(bin, "kernel", conn)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sh := zmq4.NewDealer(b.Context(), zmq4.WithDialerRetry(5*time.Millisecond), zmq4.WithDialerMaxRetries(2000),
			zmq4.WithID(zmq4.SocketIdentity(c.session)))
		if err := sh.Dial(ci.Endpoint(p[0])); err != nil {
			b.Fatal(err)
		}
		h := c.send(sh, jupyter.KernelInfoRequest, struct{}{})
		c.reply(sh, h, 20*time.Second)
		ds = append(ds, time.Since(start))
		sh.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}
	b.ReportMetric(ms(median(ds)), "ms-to-kernel-info")
}

// BenchmarkTrivialCell measures an execute_request for "1" from sending to
// the idle status on IOPub.
func BenchmarkTrivialCell(b *testing.B) {
	c := startKernel(b, binary(b))
	c.execute("1", 30*time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	ds := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rc, _ := c.execute("1", 30*time.Second)
		ds = append(ds, time.Since(start))
		if rc["status"] != "ok" {
			b.Fatalf("reply %v", rc)
		}
	}
	b.ReportMetric(ms(median(ds)), "ms-median")
}

const histSetup = `import (
	"bytes"
	"math/rand"

	"github.com/qlab-dev/qlab/qlab/display"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)`

// histCell draws ten histograms of 2,000 seeded normal samples (40 bins
// each) in a 2x5 grid and shows the figure as PNG.
const histCell = `rng := rand.New(rand.NewSource(1))
rows := make([][]*plot.Plot, 2)
for r := 0; r < 2; r++ {
	rows[r] = make([]*plot.Plot, 5)
	for c := 0; c < 5; c++ {
		v := make(plotter.Values, 2000)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		h, err := plotter.NewHist(v, 40)
		if err != nil {
			panic(err)
		}
		p := plot.New()
		p.Title.Text = "layer"
		p.Add(h)
		rows[r][c] = p
	}
}
img := vgimg.New(15*vg.Inch, 6*vg.Inch)
canvases := plot.Align(rows, draw.Tiles{Rows: 2, Cols: 5}, draw.New(img))
for r := range rows {
	for c := range rows[r] {
		rows[r][c].Draw(canvases[r][c])
	}
}
buf := new(bytes.Buffer)
if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(buf); err != nil {
	panic(err)
}
display.PNG(buf.Bytes())`

// BenchmarkHistogramFigure measures the cell above, request to idle.
func BenchmarkHistogramFigure(b *testing.B) {
	c := startKernel(b, binary(b))
	if rc, out := c.execute(histSetup, 30*time.Second); rc["status"] != "ok" {
		b.Fatalf("setup: %v %v", rc, outputs(out))
	}
	rc, out := c.execute(histCell, 60*time.Second)
	if rc["status"] != "ok" || len(out) < 2 || !strings.Contains(string(out[len(out)-1].Content), `"image/png"`) {
		b.Fatalf("histogram cell: %v %v", rc, outputs(out))
	}
	b.ResetTimer()
	ds := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c.execute(histCell, 60*time.Second)
		ds = append(ds, time.Since(start))
	}
	b.ReportMetric(ms(median(ds)), "ms-median")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
