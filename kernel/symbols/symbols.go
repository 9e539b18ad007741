package symbols

import (
	"strings"

	"github.com/traefik/yaegi/interp"

	"github.com/qlab-dev/qlab/kernel/symbols/stdlib"
)

// Symbols holds the generated tables, keyed "importpath/pkgname" as yaegi's
// Use expects.
var Symbols = interp.Exports{}

// ShortPrefix is the module path prefix that short import paths drop:
// "qlab/nn" stands for ShortPrefix + "qlab/nn".
const ShortPrefix = "github.com/qlab-dev/qlab/"

// Exports returns the standard library tables of the installed Go
// (package stdlib, generated: yaegi's own stop at Go 1.22), the generated tables, and
// each qlab table again under its short import path. The result is a new map
// (the tables themselves are shared); pass it to (*interp.Interpreter).Use.
func Exports() interp.Exports {
	out := make(interp.Exports, len(stdlib.Symbols)+2*len(Symbols))
	for k, v := range stdlib.Symbols {
		out[k] = v
	}
	for k, v := range Symbols {
		out[k] = v
		if short, ok := strings.CutPrefix(k, ShortPrefix); ok && strings.HasPrefix(short, "qlab/") {
			out[short] = v
		}
	}
	return out
}

// Doc is the documentation of one symbol.
type Doc struct {
	Decl string // declaration, Go syntax, without function body
	Text string // doc comment, plain text; "" when undocumented
}

// Lookup returns the documentation of symbol in the package importPath
// ("Name", "Type.Method", or "" for the package itself). importPath may be a
// short qlab path.
func Lookup(importPath, symbol string) (Doc, bool) {
	if strings.HasPrefix(importPath, "qlab/") {
		importPath = ShortPrefix + importPath
	}
	d, ok := docs[importPath][symbol]
	return d, ok
}
