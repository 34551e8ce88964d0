package natstest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Processes is a JetStream cluster of separate nats-server processes, the
// server of the module version go.mod pins, built when the cluster starts.
// Unlike Cluster, nothing of NATS runs in the test's process: a kill is a
// SIGKILL, and what the servers write is what a production server writes.
type Processes struct {
	t     testing.TB
	bin   string
	confs []string
	names []string
	ports []int
	mu    sync.Mutex
	procs []*exec.Cmd
}

// StartProcesses builds nats-server and runs n of them as one cluster
// (n >= 3 for R3), each with sync_interval: always, and waits until
// JetStream answers. Everything stops when the test ends. It needs the go
// command on PATH.
func StartProcesses(t testing.TB, n int) *Processes {
	t.Helper()
	base := t.TempDir()
	p := &Processes{t: t, bin: filepath.Join(base, "nats-server"), procs: make([]*exec.Cmd, n)}
	build := exec.Command("go", "build", "-o", p.bin, "github.com/nats-io/nats-server/v2")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building nats-server: %v\n%s", err, out)
	}
	routes := make([]int, n)
	for i := range n {
		p.ports = append(p.ports, freePort(t))
		routes[i] = freePort(t)
	}
	for i := range n {
		var peers []string
		for j := range n {
			if j != i {
				peers = append(peers, fmt.Sprintf("nats://127.0.0.1:%d", routes[j]))
			}
		}
		name := fmt.Sprintf("n%d", i)
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
max_payload: 8388608
jetstream { store_dir: %q, sync_interval: always }
cluster { name: knooppunt-test, listen: 127.0.0.1:%d, routes: [%s] }
`, name, p.ports[i], filepath.Join(base, name), routes[i], strings.Join(peers, ", "))
		path := filepath.Join(base, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		p.confs, p.names = append(p.confs, path), append(p.names, name)
	}
	t.Cleanup(p.Shutdown)
	for i := range n {
		p.Restart(i)
	}
	p.waitJetStream(readyWait)
	return p
}

// URL returns the client URLs of all servers, comma-separated.
func (p *Processes) URL() string {
	var urls []string
	for _, port := range p.ports {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", port))
	}
	return strings.Join(urls, ",")
}

// Kill ends server i with SIGKILL (its files stay as they are).
func (p *Processes) Kill(i int) {
	p.mu.Lock()
	cmd := p.procs[i]
	p.procs[i] = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// Restart starts server i (again) on its ports and files and waits until
// it takes connections.
func (p *Processes) Restart(i int) {
	p.t.Helper()
	cmd := exec.Command(p.bin, "-c", p.confs[i])
	log, err := os.Create(p.confs[i] + ".log")
	if err != nil {
		p.t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting nats-server %s: %v", p.names[i], err)
	}
	p.mu.Lock()
	p.procs[i] = cmd
	p.mu.Unlock()
	deadline := time.Now().Add(readyWait)
	for {
		nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", p.ports[i]), nats.NoReconnect())
		if err == nil {
			nc.Close()
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("nats-server %s does not take connections after %s: %v", p.names[i], readyWait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Shutdown kills every server.
func (p *Processes) Shutdown() {
	for i := range p.procs {
		p.Kill(i)
	}
}

// waitJetStream waits until the cluster's JetStream answers an account
// info request, which needs a meta leader.
func (p *Processes) waitJetStream(d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, err := p.request("$JS.API.INFO")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("JetStream does not answer within %s: %v", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// streamCluster is the cluster part of a stream info answer.
type streamCluster struct {
	Leader   string `json:"leader"`
	Replicas []struct {
		Name    string `json:"name"`
		Current bool   `json:"current"`
		Offline bool   `json:"offline"`
	} `json:"replicas"`
}

// StreamLeader returns the index of the server leading stream, or -1 if
// none does (or none answers).
func (p *Processes) StreamLeader(stream string) int {
	c, err := p.streamCluster(stream)
	if err != nil {
		return -1
	}
	for i, name := range p.names {
		if name == c.Leader {
			return i
		}
	}
	return -1
}

// WaitForStreamCurrent waits until stream has a leader and every other
// replica is online and current, e.g. until a restarted server caught up.
func (p *Processes) WaitForStreamCurrent(stream string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := p.streamCluster(stream); err == nil && c.Leader != "" && len(c.Replicas) == len(p.names)-1 && allCurrent(c) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("stream %s not current on every server within %s", stream, d)
}

func allCurrent(c streamCluster) bool {
	for _, r := range c.Replicas {
		if !r.Current || r.Offline {
			return false
		}
	}
	return true
}

func (p *Processes) streamCluster(stream string) (streamCluster, error) {
	data, err := p.request("$JS.API.STREAM.INFO." + stream)
	if err != nil {
		return streamCluster{}, err
	}
	var resp struct {
		Error   *struct{ Description string } `json:"error"`
		Cluster streamCluster                 `json:"cluster"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return streamCluster{}, err
	}
	if resp.Error != nil {
		return streamCluster{}, fmt.Errorf("stream info %s: %s", stream, resp.Error.Description)
	}
	return resp.Cluster, nil
}

// request sends one JetStream API request to any running server.
func (p *Processes) request(subject string) ([]byte, error) {
	nc, err := nats.Connect(p.URL(), nats.NoReconnect(), nats.Timeout(time.Second))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	m, err := nc.Request(subject, nil, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}
