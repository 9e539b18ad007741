package jupyter

import (
	"regexp"
	"strings"
	"sync"
)

// historyEntry is one stored cell: its execution count within the session,
// the code, and the text/plain of its result ("" when it had none).
type historyEntry struct {
	line   int
	input  string
	output string
	hasOut bool
}

// history holds the cells executed with store_history in this kernel
// process. Sessions are numbered like IPython's, but only the current one
// (session 1) is kept: history does not outlive the process.
type history struct {
	mu      sync.Mutex
	entries []historyEntry
}

// currentSession is the session number reported for this process.
const currentSession = 1

func (h *history) add(line int, input string, output *string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := historyEntry{line: line, input: input}
	if output != nil {
		e.output, e.hasOut = *output, true
	}
	h.entries = append(h.entries, e)
}

// query answers a history_request as IPython's HistoryManager does:
// tail returns the last n entries; range returns lines start ≤ line < stop of
// a session (0 or negative, relative to the current one, means current; no
// stop means to the end); search returns entries whose code matches a glob
// pattern ("*" any run of characters, "?" one, "[...]" a class), the last n
// of them when n is given, each code once when unique.
func (h *history) query(r HistoryRequestContent) ([][3]any, error) {
	h.mu.Lock()
	all := append([]historyEntry(nil), h.entries...)
	h.mu.Unlock()

	var sel []historyEntry
	switch r.HistAccessType {
	case "tail":
		n := len(all)
		if r.N != nil && *r.N >= 0 && *r.N < n {
			n = *r.N
		}
		sel = all[len(all)-n:]
	case "range":
		if r.Session > 0 && r.Session != currentSession {
			break
		}
		for _, e := range all {
			if e.line >= r.Start && (r.Stop == nil || *r.Stop <= 0 || e.line < *r.Stop) {
				sel = append(sel, e)
			}
		}
	case "search":
		pat := r.Pattern
		if pat == "" {
			pat = "*"
		}
		re, err := globRegexp(pat)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		// Walk newest first so that unique keeps the latest occurrence and n
		// takes the latest matches, then restore chronological order.
		for i := len(all) - 1; i >= 0; i-- {
			e := all[i]
			if !re.MatchString(e.input) || (r.Unique && seen[e.input]) {
				continue
			}
			seen[e.input] = true
			sel = append(sel, e)
			if r.N != nil && *r.N > 0 && len(sel) == *r.N {
				break
			}
		}
		for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
			sel[i], sel[j] = sel[j], sel[i]
		}
	default:
		return nil, errUnknownAccess(r.HistAccessType)
	}
	out := make([][3]any, 0, len(sel))
	for _, e := range sel {
		var item any = e.input
		if r.Output {
			var o any
			if e.hasOut {
				o = e.output
			}
			item = []any{e.input, o}
		}
		out = append(out, [3]any{currentSession, e.line, item})
	}
	return out, nil
}

type errUnknownAccess string

func (e errUnknownAccess) Error() string {
	return "jupyter: hist_access_type " + string(e) + " is not range, tail or search"
}

// globRegexp translates a glob pattern (SQLite GLOB, which IPython's search
// uses: case-sensitive, "*" also matches newlines) to an anchored regexp.
func globRegexp(pat string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(rs) && rs[j] == '^' {
				j++
			}
			if j < len(rs) && rs[j] == ']' {
				j++
			}
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if j >= len(rs) {
				b.WriteString(`\[`)
				continue
			}
			class := string(rs[i+1 : j])
			if strings.HasPrefix(class, "^") {
				class = "^" + strings.ReplaceAll(class[1:], `\`, `\\`)
			} else {
				class = strings.ReplaceAll(class, `\`, `\\`)
			}
			b.WriteString("[" + class + "]")
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}
