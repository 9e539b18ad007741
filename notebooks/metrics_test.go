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
// five functions defined in five to seven notebooks each). The 500-line
// budget is for those seven steps of the study (01–07); notebooks added
// after them (08 bring-your-own, 09 PTQ toolbox) are held to a per-notebook
// cap instead, which every notebook must also meet.
const (
	maxCodeLines     = 500  // non-blank lines of code cells of notebooks 01–07, parameters cells excluded
	maxNotebookLines = 100  // the same count, for any one notebook
	maxDuplicateFrac = 0.10 // of all notebooks' lines, in cells identical to a cell of another notebook
)

// studyStep reports whether path is one of the seven notebooks the 500-line
// budget was set for.
func studyStep(path string) bool {
	base := path[strings.LastIndex(path, "/")+1:]
	return len(base) > 2 && base[0] == '0' && base[1] >= '1' && base[1] <= '7'
}

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
	total, study, dup := 0, 0, 0
	for path, srcs := range cells {
		lines := 0
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
			lines += n
			if others[normalizeCell(s)] {
				dup += n
				t.Logf("%s: a %d-line cell is identical to a cell of another notebook:\n%s", path, n, s)
			}
		}
		if studyStep(path) {
			study += lines
		}
		if lines > maxNotebookLines {
			t.Errorf("%s: %d code lines outside the parameters cell; want at most %d", path, lines, maxNotebookLines)
		}
	}
	t.Logf("%d code lines outside the parameters cells (%d in notebooks 01–07), %d (%.1f%%) in cells shared with another notebook", total, study, dup, 100*float64(dup)/float64(max(total, 1)))
	if study > maxCodeLines {
		t.Errorf("%d code lines outside the parameters cells of notebooks 01–07; want at most %d", study, maxCodeLines)
	}
	if frac := float64(dup) / float64(max(total, 1)); frac > maxDuplicateFrac {
		t.Errorf("%.1f%% of code lines are in cells identical to another notebook's; want at most %.0f%%", 100*frac, 100*maxDuplicateFrac)
	}
}
