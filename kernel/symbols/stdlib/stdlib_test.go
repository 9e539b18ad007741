package stdlib

import (
	"go/importer"
	"go/token"
	"go/types"
	"runtime"
	"strings"
	"testing"
)

// TestEveryExportedSymbol (issue 16, item 1): every exported non-generic
// symbol of the standard packages cells use most is in the tables, as the
// installed Go's type information lists them (generic functions and types
// have no table: cells get slices, maps, iter and cmp from interpreted
// sources).
func TestEveryExportedSymbol(t *testing.T) {
	imp := importer.ForCompiler(token.NewFileSet(), "gc", nil)
	for _, path := range []string{
		"bufio", "bytes", "context", "encoding/csv", "encoding/json", "errors", "fmt", "io", "io/fs",
		"log", "math", "math/bits", "math/rand", "math/rand/v2", "os", "path/filepath", "regexp", "sort",
		"strconv", "strings", "sync", "sync/atomic", "text/tabwriter", "time", "unicode", "unicode/utf8",
	} {
		t.Run(path, func(t *testing.T) {
			pkg, err := imp.Import(path)
			if err != nil {
				t.Fatalf("no type information for %s: %v", path, err)
			}
			table := Symbols[path+"/"+pkg.Name()]
			if table == nil {
				t.Fatalf("no table for %s", path)
			}
			var missing []string
			for _, name := range pkg.Scope().Names() {
				obj := pkg.Scope().Lookup(name)
				if !obj.Exported() || isGeneric(obj) {
					continue
				}
				if _, ok := table[name]; !ok {
					missing = append(missing, name)
				}
			}
			if len(missing) > 0 {
				t.Errorf("%s (%s): %d exported symbols missing from the table: %s", path, runtime.Version(), len(missing), strings.Join(missing, ", "))
			}
		})
	}
}

func isGeneric(obj types.Object) bool {
	switch o := obj.(type) {
	case *types.Func:
		return o.Type().(*types.Signature).TypeParams().Len() > 0
	case *types.TypeName:
		if n, ok := o.Type().(*types.Named); ok {
			return n.TypeParams().Len() > 0
		}
		if a, ok := o.Type().(*types.Alias); ok {
			return a.TypeParams().Len() > 0
		}
	}
	return false
}
