package notebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Cell types.
const (
	Code     = "code"
	Markdown = "markdown"
	Raw      = "raw"
)

// Output types of code cell outputs.
const (
	OutputStream        = "stream"
	OutputDisplayData   = "display_data"
	OutputExecuteResult = "execute_result"
	OutputError         = "error"
)

// Notebook is an nbformat 4 document. Fields the package does not model are
// kept and written back unchanged.
type Notebook struct {
	Metadata      map[string]any
	NBFormat      int // always 4 after Read
	NBFormatMinor int // as read; Write writes at least 5
	Cells         []*Cell

	extra map[string]json.RawMessage
}

// Cell is one notebook cell.
type Cell struct {
	ID       string // nbformat 4.5 cell id; Write fills in missing ones
	Type     string // Code, Markdown or Raw
	Metadata map[string]any
	Source   string
	// Code cells only.
	Outputs        []*Output
	ExecutionCount *int // nil: not executed
	// Markdown and raw cells only; kept verbatim.
	Attachments json.RawMessage

	extra map[string]json.RawMessage
}

// Output is one output of a code cell.
type Output struct {
	Type string // OutputStream, OutputDisplayData, OutputExecuteResult or OutputError
	// Stream.
	Name, Text string
	// Display data and execute result: values are strings (multi-line
	// strings joined) except for JSON MIME types.
	Data     map[string]any
	Metadata map[string]any
	// Execute result.
	ExecutionCount *int
	// Error.
	Ename, Evalue string
	Traceback     []string

	extra map[string]json.RawMessage
}

// Tags returns the cell's metadata.tags.
func (c *Cell) Tags() []string {
	raw, _ := c.Metadata["tags"].([]any)
	var tags []string
	for _, t := range raw {
		if s, ok := t.(string); ok {
			tags = append(tags, s)
		}
	}
	return tags
}

// HasTag reports whether the cell carries tag.
func (c *Cell) HasTag(tag string) bool {
	for _, t := range c.Tags() {
		if t == tag {
			return true
		}
	}
	return false
}

// ReadFile reads the notebook at path.
func ReadFile(path string) (*Notebook, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	defer f.Close()
	nb, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("notebook: %s: %w", path, errors.Unwrap(err))
	}
	return nb, nil
}

// Read decodes an nbformat 4 notebook.
func Read(r io.Reader) (*Notebook, error) {
	var top map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&top); err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	nb := &Notebook{}
	if err := nb.decode(top); err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	return nb, nil
}

// take removes key from m and decodes it into v; absent keys leave v as is.
func take(m map[string]json.RawMessage, key string, v any) error {
	raw, ok := m[key]
	if !ok {
		return nil
	}
	delete(m, key)
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("field %q: %w", key, err)
	}
	return nil
}

// takeText removes a multi-line string (a string or a list of strings).
func takeText(m map[string]json.RawMessage, key string, s *string) error {
	raw, ok := m[key]
	if !ok {
		return nil
	}
	delete(m, key)
	t, err := multiline(raw)
	if err != nil {
		return fmt.Errorf("field %q: %w", key, err)
	}
	*s = t
	return nil
}

func multiline(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return "", errors.New("not a string or a list of strings")
	}
	return strings.Join(lines, ""), nil
}

func (nb *Notebook) decode(m map[string]json.RawMessage) error {
	if err := take(m, "nbformat", &nb.NBFormat); err != nil {
		return err
	}
	if nb.NBFormat != 4 {
		return fmt.Errorf("nbformat %d is not 4", nb.NBFormat)
	}
	if err := take(m, "nbformat_minor", &nb.NBFormatMinor); err != nil {
		return err
	}
	if err := take(m, "metadata", &nb.Metadata); err != nil {
		return err
	}
	var cells []map[string]json.RawMessage
	if err := take(m, "cells", &cells); err != nil {
		return err
	}
	for i, cm := range cells {
		c := &Cell{}
		if err := c.decode(cm); err != nil {
			return fmt.Errorf("cell %d: %w", i, err)
		}
		nb.Cells = append(nb.Cells, c)
	}
	if nb.Metadata == nil {
		nb.Metadata = map[string]any{}
	}
	nb.extra = m
	return nil
}

func (c *Cell) decode(m map[string]json.RawMessage) error {
	if err := take(m, "cell_type", &c.Type); err != nil {
		return err
	}
	switch c.Type {
	case Code, Markdown, Raw:
	default:
		return fmt.Errorf("cell_type %q is not code, markdown or raw", c.Type)
	}
	if err := take(m, "id", &c.ID); err != nil {
		return err
	}
	if err := take(m, "metadata", &c.Metadata); err != nil {
		return err
	}
	if err := takeText(m, "source", &c.Source); err != nil {
		return err
	}
	if raw, ok := m["attachments"]; ok {
		c.Attachments = raw
		delete(m, "attachments")
	}
	if c.Type == Code {
		if err := take(m, "execution_count", &c.ExecutionCount); err != nil {
			return err
		}
		var outs []map[string]json.RawMessage
		if err := take(m, "outputs", &outs); err != nil {
			return err
		}
		for i, om := range outs {
			o := &Output{}
			if err := o.decode(om); err != nil {
				return fmt.Errorf("output %d: %w", i, err)
			}
			c.Outputs = append(c.Outputs, o)
		}
	}
	if c.Metadata == nil {
		c.Metadata = map[string]any{}
	}
	c.extra = m
	return nil
}

// isJSONMIME reports whether values of mime are JSON rather than
// multi-line strings (nbformat: application/json and any +json type).
func isJSONMIME(mime string) bool {
	return mime == "application/json" || strings.HasSuffix(mime, "+json")
}

func (o *Output) decode(m map[string]json.RawMessage) error {
	if err := take(m, "output_type", &o.Type); err != nil {
		return err
	}
	switch o.Type {
	case OutputStream:
		if err := take(m, "name", &o.Name); err != nil {
			return err
		}
		if err := takeText(m, "text", &o.Text); err != nil {
			return err
		}
	case OutputDisplayData, OutputExecuteResult:
		var data map[string]json.RawMessage
		if err := take(m, "data", &data); err != nil {
			return err
		}
		o.Data = make(map[string]any, len(data))
		for mime, raw := range data {
			if isJSONMIME(mime) {
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					return fmt.Errorf("data %q: %w", mime, err)
				}
				o.Data[mime] = v
				continue
			}
			s, err := multiline(raw)
			if err != nil {
				return fmt.Errorf("data %q: %w", mime, err)
			}
			o.Data[mime] = s
		}
		if err := take(m, "metadata", &o.Metadata); err != nil {
			return err
		}
		if o.Type == OutputExecuteResult {
			if err := take(m, "execution_count", &o.ExecutionCount); err != nil {
				return err
			}
		}
	case OutputError:
		for _, f := range []struct {
			k string
			v any
		}{{"ename", &o.Ename}, {"evalue", &o.Evalue}, {"traceback", &o.Traceback}} {
			if err := take(m, f.k, f.v); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("output_type %q is not stream, display_data, execute_result or error", o.Type)
	}
	o.extra = m
	return nil
}

// splitLines splits s after each newline, as nbformat stores multi-line
// strings; "" becomes an empty list.
func splitLines(s string) []string {
	lines := []string{}
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

func withExtra(extra map[string]json.RawMessage, known map[string]any) map[string]any {
	out := make(map[string]any, len(extra)+len(known))
	for k, v := range extra {
		out[k] = v
	}
	for k, v := range known {
		out[k] = v
	}
	return out
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (o *Output) encode() map[string]any {
	k := map[string]any{"output_type": o.Type}
	switch o.Type {
	case OutputStream:
		k["name"], k["text"] = o.Name, splitLines(o.Text)
	case OutputDisplayData, OutputExecuteResult:
		data := make(map[string]any, len(o.Data))
		for mime, v := range o.Data {
			if s, ok := v.(string); ok && !isJSONMIME(mime) {
				data[mime] = splitLines(s)
			} else {
				data[mime] = v
			}
		}
		k["data"], k["metadata"] = data, orEmpty(o.Metadata)
		if o.Type == OutputExecuteResult {
			k["execution_count"] = o.ExecutionCount
		}
	case OutputError:
		tb := o.Traceback
		if tb == nil {
			tb = []string{}
		}
		k["ename"], k["evalue"], k["traceback"] = o.Ename, o.Evalue, tb
	}
	return withExtra(o.extra, k)
}

var validID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Write encodes nb as nbformat 4.5 with nbformat's own layout: sorted keys,
// one-space indent, no HTML escaping, a final newline. Cells without a valid
// id get one derived from their position and source, so writing the same
// notebook twice gives the same bytes.
func (nb *Notebook) Write(w io.Writer) error {
	minor := max(nb.NBFormatMinor, 5)
	seen := map[string]bool{}
	cells := make([]any, 0, len(nb.Cells))
	for i, c := range nb.Cells {
		if !validID.MatchString(c.ID) || seen[c.ID] {
			sum := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s", i, c.Source)))
			c.ID = hex.EncodeToString(sum[:4])
			for seen[c.ID] {
				sum = sha256.Sum256(sum[:])
				c.ID = hex.EncodeToString(sum[:4])
			}
		}
		seen[c.ID] = true
		k := map[string]any{"id": c.ID, "cell_type": c.Type, "metadata": orEmpty(c.Metadata),
			"source": splitLines(c.Source)}
		if c.Type == Code {
			outs := make([]any, 0, len(c.Outputs))
			for _, o := range c.Outputs {
				outs = append(outs, o.encode())
			}
			k["outputs"], k["execution_count"] = outs, c.ExecutionCount
		} else if len(c.Attachments) > 0 {
			k["attachments"] = c.Attachments
		}
		cells = append(cells, withExtra(c.extra, k))
	}
	top := withExtra(nb.extra, map[string]any{"nbformat": 4, "nbformat_minor": minor,
		"metadata": orEmpty(nb.Metadata), "cells": cells})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(top); err != nil {
		return fmt.Errorf("notebook: encoding: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("notebook: writing: %w", err)
	}
	return nil
}

// WriteFile writes nb to path atomically: to a temporary file in the same
// directory, synced, then renamed over path, so a crash never leaves a
// truncated notebook.
func WriteFile(path string, nb *Notebook) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("notebook: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := nb.Write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("notebook: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("notebook: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("notebook: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("notebook: %w", err)
	}
	return nil
}
