package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrStoreMismatch is wrapped when a results directory belongs to a
// different spec; nothing in it is touched.
var ErrStoreMismatch = errors.New("sweep: results directory belongs to a different spec")

// Files of a store. A store directory holds ManifestFile and SpecFile;
// trials/<id>/ holds RecordFile (a finished trial), FailureFile (a failed
// one), TimingFile and train's checkpoint; locks/<id>.lock are the
// per-trial locks.
const (
	ManifestFile = "manifest.json"
	SpecFile     = "spec.json"
	RecordFile   = "record.json"
	FailureFile  = "failure.json"
	TimingFile   = "timing.json"
)

// Manifest binds a store to its spec.
type Manifest struct {
	// SpecHash is Spec.Hash() of the spec that created the store.
	SpecHash string `json:"spec_hash"`
	Name     string `json:"name"`
	// Trials lists the trial IDs in index order.
	Trials []string `json:"trials"`
}

// Store is a results directory bound to one spec. Its methods are safe for
// concurrent use by goroutines and by processes sharing the directory.
type Store struct {
	// Dir is the store's directory.
	Dir    string
	spec   *Spec
	trials []TrialSpec
}

// OpenStore opens (creating it when absent) the results store of spec in
// dir ("" means spec.ResultsDir). A directory whose manifest names another
// spec is an error wrapping ErrStoreMismatch; a new store's manifest is
// created atomically, so two sweeps starting at once agree on it.
func OpenStore(spec *Spec, dir string) (*Store, error) {
	trials, err := spec.Trials()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = spec.ResultsDir
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: no results directory (set ResultsDir)", ErrSpec)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	hash, _ := spec.Hash() // Trials succeeded, so Hash does
	want := Manifest{SpecHash: hash, Name: spec.Name}
	for _, t := range trials {
		want.Trials = append(want.Trials, t.ID)
	}
	for _, d := range []string{dir, filepath.Join(dir, "trials"), filepath.Join(dir, "locks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("sweep: results store: %w", err)
		}
	}
	mpath := filepath.Join(dir, ManifestFile)
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sweep: manifest: %w", err)
	}
	if err := writeFileExclusive(mpath, b); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sweep: results store %s: %w", dir, err)
	}
	got, err := os.ReadFile(mpath)
	if err != nil {
		return nil, fmt.Errorf("sweep: results store %s: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(got, &m); err != nil {
		return nil, fmt.Errorf("sweep: results store %s: corrupt %s: %v", dir, ManifestFile, err)
	}
	if m.SpecHash != hash {
		return nil, fmt.Errorf("%w: %s was made by spec %q (hash %s, %d trials); this spec %q has hash %s (%d trials); use another results directory",
			ErrStoreMismatch, dir, m.Name, m.SpecHash, len(m.Trials), spec.Name, hash, len(trials))
	}
	// The spec as the store's own file lets `qlab sweep run-trial` and
	// Slurm tasks find everything from the directory alone.
	sp := *spec
	sp.ResultsDir = dir
	sb, err := sp.JSON()
	if err != nil {
		return nil, fmt.Errorf("sweep: spec: %w", err)
	}
	if old, err := os.ReadFile(filepath.Join(dir, SpecFile)); err != nil || !bytes.Equal(old, sb) {
		if err := writeFileAtomic(filepath.Join(dir, SpecFile), sb); err != nil {
			return nil, fmt.Errorf("sweep: results store %s: %w", dir, err)
		}
	}
	return &Store{Dir: dir, spec: &sp, trials: trials}, nil
}

// Spec returns the store's spec (ResultsDir set to Dir).
func (s *Store) Spec() *Spec { return s.spec }

// SpecPath returns the path of the store's copy of its spec.
func (s *Store) SpecPath() string { return filepath.Join(s.Dir, SpecFile) }

// Trials returns the spec's trials in index order.
func (s *Store) Trials() []TrialSpec { return append([]TrialSpec(nil), s.trials...) }

// Trial returns trial i, or an error naming the valid range.
func (s *Store) Trial(i int) (TrialSpec, error) {
	if i < 0 || i >= len(s.trials) {
		return TrialSpec{}, fmt.Errorf("sweep: trial index %d out of range [0, %d)", i, len(s.trials))
	}
	return s.trials[i], nil
}

// TrialDir returns the directory of the trial with the given ID.
func (s *Store) TrialDir(id string) string { return filepath.Join(s.Dir, "trials", id) }

// Status is the state of a trial in a store.
type Status string

const (
	// Pending trials have neither a record nor a failure.
	Pending Status = "pending"
	// Done trials have a record.
	Done Status = "done"
	// Failed trials have a failure and no record.
	Failed Status = "failed"
)

// Status returns the state of trial t.
func (s *Store) Status(t TrialSpec) Status {
	if _, err := os.Stat(filepath.Join(s.TrialDir(t.ID), RecordFile)); err == nil {
		return Done
	}
	if _, err := os.Stat(filepath.Join(s.TrialDir(t.ID), FailureFile)); err == nil {
		return Failed
	}
	return Pending
}

// Record reads the record of the trial with the given ID.
func (s *Store) Record(id string) (*Record, error) {
	path := filepath.Join(s.TrialDir(id), RecordFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("sweep: record %s: %v", path, err)
	}
	return &r, nil
}

// Failure reads the failure of the trial with the given ID.
func (s *Store) Failure(id string) (*Failure, error) {
	path := filepath.Join(s.TrialDir(id), FailureFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var f Failure
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("sweep: failure %s: %v", path, err)
	}
	return &f, nil
}

// Records reads every finished trial's record, in index order.
func (s *Store) Records() ([]*Record, error) {
	var out []*Record
	for _, t := range s.trials {
		if s.Status(t) != Done {
			continue
		}
		r, err := s.Record(t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Outcome is what RunTrial did.
type Outcome string

const (
	// Ran: the trial ran and its record was written.
	Ran Outcome = "ran"
	// Skipped: the trial already had a record.
	Skipped Outcome = "skipped"
	// Busy: another process or goroutine holds the trial's lock.
	Busy Outcome = "busy"
	// FailedOutcome: the trial ran and failed; its failure was written.
	FailedOutcome Outcome = "failed"
	// Interrupted: ctx was cancelled; nothing was recorded.
	Interrupted Outcome = "interrupted"
)

// RunTrial runs trial t with fn under the trial's lock unless it is done
// (or, with rerun, even then) and records the result: the record, or on
// error the failure (which a later RunTrial retries). The returned error
// is the trial's error for FailedOutcome and Interrupted, or a store error.
// A process killed mid-trial leaves at most the trial's checkpoint, which
// the next run resumes from.
func (s *Store) RunTrial(ctx context.Context, t TrialSpec, fn TrialFunc, rerun bool) (Outcome, error) {
	if fn == nil {
		fn = DefaultTrial
	}
	unlock, ok, err := lockFile(filepath.Join(s.Dir, "locks", t.ID+".lock"))
	if err != nil {
		return "", fmt.Errorf("sweep: trial %d (%s): lock: %w", t.Index, t.ID, err)
	}
	if !ok {
		return Busy, nil
	}
	defer unlock()
	// Checked under the lock: another sweep may have finished it since.
	if !rerun && s.Status(t) == Done {
		return Skipped, nil
	}
	dir := s.TrialDir(t.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sweep: trial %d: %w", t.Index, err)
	}
	host, _ := os.Hostname()
	start := time.Now()
	rec, terr := runGuarded(ctx, fn, t, dir)
	secs := time.Since(start).Seconds()
	if terr != nil {
		if ctx.Err() != nil {
			return Interrupted, fmt.Errorf("sweep: trial %d (%s) interrupted: %w", t.Index, t.ID, terr)
		}
		f := Failure{ID: t.ID, Index: t.Index, Arch: t.Arch, Init: t.Init, Seed: t.Seed, Error: terr.Error(), Host: host}
		b, _ := json.MarshalIndent(f, "", "  ")
		if err := writeFileAtomic(filepath.Join(dir, FailureFile), b); err != nil {
			return "", fmt.Errorf("sweep: trial %d: %w (while recording: %v)", t.Index, err, terr)
		}
		return FailedOutcome, fmt.Errorf("sweep: trial %d (%s, %s, seed %d): %w", t.Index, t.Arch, t.Init, t.Seed, terr)
	}
	if rec == nil {
		rec = &Record{}
	}
	rec.ID, rec.Index, rec.Trial = t.ID, t.Index, t
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("sweep: trial %d: record: %w", t.Index, err)
	}
	tb, _ := json.MarshalIndent(Timing{ID: t.ID, Host: host, PID: os.Getpid(),
		Started: start.UTC().Format(time.RFC3339Nano), Seconds: secs}, "", "  ")
	if err := writeFileAtomic(filepath.Join(dir, TimingFile), tb); err != nil {
		return "", fmt.Errorf("sweep: trial %d: %w", t.Index, err)
	}
	// The record last: its presence is what marks the trial done.
	if err := writeFileAtomic(filepath.Join(dir, RecordFile), b); err != nil {
		return "", fmt.Errorf("sweep: trial %d: %w", t.Index, err)
	}
	os.Remove(filepath.Join(dir, FailureFile))
	return Ran, nil
}

// runGuarded turns a panic in a trial body into that trial's error, so one
// bad trial cannot take down a whole sweep.
func runGuarded(ctx context.Context, fn TrialFunc, t TrialSpec, dir string) (rec *Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx, t, dir)
}

// writeFileAtomic writes b to path through a synced temporary file in the
// same directory and a rename, so readers see the old file or the new one.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// writeFileExclusive creates path with content b only if it does not exist
// (fs.ErrExist otherwise), atomically: the content is complete when the
// name appears.
func writeFileExclusive(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// A hard link fails if the name exists: an atomic create-if-absent.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
}
