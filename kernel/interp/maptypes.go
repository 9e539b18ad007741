package interp

import (
	"encoding"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log"
	"reflect"

	yaegi "github.com/traefik/yaegi/interp"
)

// mapTypes tells yaegi, for compiled functions taking interface{}
// arguments, which interfaces they look for in them, so that an interpreted
// value with those methods reaches them wrapped in a struct implementing
// the first one it has (yaegi's getMapType and genInterfaceWrapper in
// run.go): fmt.Errorf's %w gets an error, fmt.Println a Stringer. yaegi's
// own stdlib package registers such a list (without error); the kernel's
// generated tables do not. The print functions' operands of cell types are
// described by the rewrite (fmtvalue.go); this covers what it leaves, such
// as an operand whose type the checker could not tell, and the %w operand
// of Errorf.
func mapTypes() yaegi.Exports {
	mt := map[reflect.Value][]reflect.Type{}
	printers := []reflect.Type{
		reflect.TypeOf((*fmt.Formatter)(nil)).Elem(),
		reflect.TypeOf((*error)(nil)).Elem(),
		reflect.TypeOf((*fmt.Stringer)(nil)).Elem(),
	}
	for _, f := range []any{fmt.Errorf, fmt.Fprint, fmt.Fprintf, fmt.Fprintln, fmt.Print, fmt.Printf, fmt.Println,
		fmt.Sprint, fmt.Sprintf, fmt.Sprintln, fmt.Append, fmt.Appendf, fmt.Appendln,
		log.Fatal, log.Fatalf, log.Fatalln, log.Panic, log.Panicf, log.Panicln, log.Print, log.Printf, log.Println} {
		mt[reflect.ValueOf(f)] = printers
	}
	scanners := []reflect.Type{reflect.TypeOf((*fmt.Scanner)(nil)).Elem()}
	for _, f := range []any{fmt.Scan, fmt.Scanf, fmt.Scanln, fmt.Fscan, fmt.Fscanf, fmt.Fscanln, fmt.Sscan, fmt.Sscanf, fmt.Sscanln} {
		mt[reflect.ValueOf(f)] = scanners
	}
	mt[reflect.ValueOf(json.Marshal)] = []reflect.Type{
		reflect.TypeOf((*json.Marshaler)(nil)).Elem(),
		reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem(),
	}
	mt[reflect.ValueOf(json.Unmarshal)] = []reflect.Type{
		reflect.TypeOf((*json.Unmarshaler)(nil)).Elem(),
		reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem(),
	}
	mt[reflect.ValueOf(xml.Marshal)] = []reflect.Type{
		reflect.TypeOf((*xml.Marshaler)(nil)).Elem(),
		reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem(),
	}
	mt[reflect.ValueOf(xml.Unmarshal)] = []reflect.Type{
		reflect.TypeOf((*xml.Unmarshaler)(nil)).Elem(),
		reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem(),
	}
	return yaegi.Exports{".": {"MapTypes": reflect.ValueOf(mt)}}
}
