package jupyter

import (
	"encoding/json"
	"fmt"
	"os"
)

// ConnectionInfo is the connection file a frontend writes and passes to the
// kernel ({connection_file} in the kernelspec's argv).
type ConnectionInfo struct {
	Transport       string `json:"transport"` // "tcp" (default) or "ipc"
	IP              string `json:"ip"`        // tcp: address to bind; ipc: path prefix
	ShellPort       int    `json:"shell_port"`
	IOPubPort       int    `json:"iopub_port"`
	StdinPort       int    `json:"stdin_port"`
	ControlPort     int    `json:"control_port"`
	HBPort          int    `json:"hb_port"`
	SignatureScheme string `json:"signature_scheme"` // "hmac-sha256"; "" when Key is empty
	Key             string `json:"key"`              // "" disables signing
	KernelName      string `json:"kernel_name,omitempty"`
}

// ReadConnectionFile reads and validates a connection file.
func ReadConnectionFile(path string) (ConnectionInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ConnectionInfo{}, fmt.Errorf("jupyter: connection file: %w", err)
	}
	var ci ConnectionInfo
	if err := json.Unmarshal(b, &ci); err != nil {
		return ConnectionInfo{}, fmt.Errorf("jupyter: connection file %s: %w", path, err)
	}
	if err := ci.Validate(); err != nil {
		return ConnectionInfo{}, fmt.Errorf("jupyter: connection file %s: %w", path, err)
	}
	return ci, nil
}

// Validate checks the transport, the ports and the signature scheme.
func (ci *ConnectionInfo) Validate() error {
	if ci.Transport == "" {
		ci.Transport = "tcp"
	}
	if ci.Transport != "tcp" && ci.Transport != "ipc" {
		return fmt.Errorf("transport %q is not tcp or ipc", ci.Transport)
	}
	if ci.IP == "" {
		return fmt.Errorf("no ip")
	}
	for name, p := range map[string]int{"shell_port": ci.ShellPort, "iopub_port": ci.IOPubPort,
		"stdin_port": ci.StdinPort, "control_port": ci.ControlPort, "hb_port": ci.HBPort} {
		if p <= 0 || p > 65535 {
			return fmt.Errorf("%s %d out of range", name, p)
		}
	}
	if ci.Key != "" && ci.SignatureScheme != "hmac-sha256" {
		return fmt.Errorf("signature_scheme %q is not hmac-sha256", ci.SignatureScheme)
	}
	return nil
}

// Endpoint returns the ZeroMQ endpoint of port: tcp://IP:port or
// ipc://IP-port, as jupyter_client forms them.
func (ci ConnectionInfo) Endpoint(port int) string {
	if ci.Transport == "ipc" {
		return fmt.Sprintf("ipc://%s-%d", ci.IP, port)
	}
	return fmt.Sprintf("tcp://%s:%d", ci.IP, port)
}
