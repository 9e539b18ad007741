package interp

import (
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/qlab-dev/qlab/kernel/symbols"
)

// pkgTable is one compiled package importable by cells.
type pkgTable struct {
	path string // import path
	name string // package name
	syms map[string]reflect.Value
}

var (
	tablesOnce sync.Once
	tables     map[string]*pkgTable // by import path (short qlab paths included)
)

func allTables() map[string]*pkgTable {
	tablesOnce.Do(func() {
		tables = map[string]*pkgTable{}
		for k, v := range symbols.Exports() {
			i := strings.LastIndex(k, "/")
			if i < 0 {
				continue
			}
			tables[k[:i]] = &pkgTable{path: k[:i], name: k[i+1:], syms: v}
		}
	})
	return tables
}

// pkgNameOf returns the package name of a compiled package, "" when unknown.
func pkgNameOf(path string) string {
	if t := allTables()[path]; t != nil {
		return t.name
	}
	return ""
}

// importPaths returns every importable compiled package path, sorted.
func importPaths() []string {
	var out []string
	for p := range allTables() {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
