package interp

import (
	"go/ast"
	"strconv"
	"strings"
)

// hiddenKeys are the struct tag keys of the compiled encoders that skip a
// field tagged "-": encoding/json and encoding/xml, which also skip
// unexported fields.
var hiddenKeys = []string{"json", "xml"}

// structTags tags the unexported fields of the struct types of one item
// json:"-" and xml:"-" (replacing those keys of a tag already there).
//
// yaegi v0.16.1 builds a cell's struct type with reflect.StructOf, which
// cannot make unexported fields: it exports them under an X prefix (private
// becomes Xprivate), and compiled encoders then marshal them and fill them
// from input. Go's rule is that unexported fields are never encoded or
// decoded, whatever their tag, which is what "-" says. Embedded fields are
// left alone (an embedded struct's exported fields are promoted), and so
// is a field list mixing exported and unexported names (a, B int).
func (rw *rewriter) structTags(f *cellFile) {
	ast.Inspect(f.file, func(n ast.Node) bool {
		st, ok := n.(*ast.StructType)
		if !ok || st.Fields == nil {
			return true
		}
		for _, fld := range st.Fields.List {
			if len(fld.Names) == 0 {
				continue
			}
			hidden := 0
			for _, name := range fld.Names {
				if !ast.IsExported(name.Name) {
					hidden++
				}
			}
			if hidden != len(fld.Names) {
				continue
			}
			rw.hideField(fld)
		}
		return true
	})
}

// hideField gives fld the tag keys of hiddenKeys with the value "-".
func (rw *rewriter) hideField(fld *ast.Field) {
	var tag string
	if fld.Tag != nil {
		t, err := strconv.Unquote(fld.Tag.Value)
		if err != nil {
			return
		}
		tag = t
	}
	var keep []string
	for _, kv := range tagPairs(tag) {
		hidden := false
		for _, k := range hiddenKeys {
			hidden = hidden || kv[0] == k
		}
		if !hidden {
			keep = append(keep, kv[0]+":"+kv[1])
		}
	}
	for _, k := range hiddenKeys {
		keep = append(keep, k+`:"-"`)
	}
	lit := strings.Join(keep, " ")
	if strings.Contains(lit, "`") {
		lit = strconv.Quote(lit)
	} else {
		lit = "`" + lit + "`"
	}
	if fld.Tag != nil {
		rw.add(fld.Tag.Pos(), fld.Tag.End(), lit)
		return
	}
	if e := rw.pc.off(fld.Type.End()); e >= 0 {
		rw.edits = append(rw.edits, edit{e, e, " " + lit})
	}
}

// tagPairs splits a struct tag into its key and quoted value pairs, as
// reflect.StructTag.Lookup reads them; text that does not follow the
// convention ends the list.
func tagPairs(tag string) [][2]string {
	var out [][2]string
	for tag != "" {
		i := 0
		for i < len(tag) && tag[i] == ' ' {
			i++
		}
		tag = tag[i:]
		if tag == "" {
			break
		}
		i = 0
		for i < len(tag) && tag[i] > ' ' && tag[i] != ':' && tag[i] != '"' && tag[i] != 0x7f {
			i++
		}
		if i == 0 || i+1 >= len(tag) || tag[i] != ':' || tag[i+1] != '"' {
			break
		}
		key := tag[:i]
		tag = tag[i+1:]
		i = 1
		for i < len(tag) && tag[i] != '"' {
			if tag[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(tag) {
			break
		}
		val := tag[:i+1]
		if _, err := strconv.Unquote(val); err != nil {
			break
		}
		out = append(out, [2]string{key, val})
		tag = tag[i+1:]
	}
	return out
}
