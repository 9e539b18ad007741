package notebooks_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/qlab-dev/qlab/kernel/notebook"
)

// The notebooks are the study's steps, not its scaffolding: what two of them
// need belongs in the library. These bounds keep it that way (before the
// study package, the seven notebooks had 871 code lines outside their
// parameters cells, 48% of them in cells copied from another notebook, and
// five functions defined in five to seven notebooks each).
const (
	maxCodeLines     = 500  // non-blank lines of code cells, parameters cells excluded
	maxDuplicateFrac = 0.10 // of those lines, in cells identical to a cell of another notebook
)

// codeCells returns the source of every code cell of every notebook except
// the parameters cells, by notebook.
func codeCells(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, path := range notebookPaths(t) {
		nb, err := notebook.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range nb.Cells {
			if c.Type == notebook.Code && !c.HasTag(notebook.TagParameters) {
				out[path] = append(out[path], c.Source)
			}
		}
	}
	return out
}

// normalizeCell trims trailing space from every line and blank lines from
// both ends, so cells that differ only there count as identical.
func normalizeCell(src string) string {
	lines := strings.Split(strings.TrimSpace(src), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

func nonBlankLines(src string) int {
	n := 0
	for _, l := range strings.Split(src, "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

var funcDecl = regexp.MustCompile(`(?m)^func\s+(?:\([^)]*\)\s*)?(\w+)`)

// TestNoSharedFunctions fails when a function (or method) is defined in
// more than one notebook: it belongs in the library.
func TestNoSharedFunctions(t *testing.T) {
	where := map[string][]string{}
	for path, cells := range codeCells(t) {
		seen := map[string]bool{}
		for _, src := range cells {
			for _, m := range funcDecl.FindAllStringSubmatch(src, -1) {
				if !seen[m[1]] {
					seen[m[1]] = true
					where[m[1]] = append(where[m[1]], path)
				}
			}
		}
	}
	for name, paths := range where {
		if len(paths) > 1 {
			t.Errorf("func %s is defined in %d notebooks (%v); move it to the library (qlab/study)", name, len(paths), paths)
		}
	}
}

// TestCodeBudget bounds the code outside the parameters cells and the share
// of it that sits in cells identical to a cell of another notebook.
func TestCodeBudget(t *testing.T) {
	cells := codeCells(t)
	total, dup := 0, 0
	for path, srcs := range cells {
		others := map[string]bool{}
		for other, osrcs := range cells {
			if other != path {
				for _, s := range osrcs {
					others[normalizeCell(s)] = true
				}
			}
		}
		for _, s := range srcs {
			n := nonBlankLines(s)
			total += n
			if others[normalizeCell(s)] {
				dup += n
				t.Logf("%s: a %d-line cell is identical to a cell of another notebook:\n%s", path, n, s)
			}
		}
	}
	t.Logf("%d code lines outside the parameters cells, %d (%.1f%%) in cells shared with another notebook", total, dup, 100*float64(dup)/float64(max(total, 1)))
	if total > maxCodeLines {
		t.Errorf("%d code lines outside the parameters cells; want at most %d", total, maxCodeLines)
	}
	if frac := float64(dup) / float64(max(total, 1)); frac > maxDuplicateFrac {
		t.Errorf("%.1f%% of code lines are in cells identical to another notebook's; want at most %.0f%%", 100*frac, 100*maxDuplicateFrac)
	}
}
