// Package interp runs notebook cells on the yaegi Go interpreter: it is the
// evaluation side of the qlab kernel, implementing kernel/jupyter's Evaluator
// (Execute, Complete, Inspect, IsComplete).
//
// Its boundary: it turns cell text into effects on an Output (streams,
// displays, input requests) and a result bundle; it knows nothing of Jupyter
// messages, sockets or notebooks.
//
// A cell may mix imports, declarations and statements in any order. Cells are
// cut into runs of imports, declarations and statements (see split) and each
// run is evaluated in order, because yaegi evaluates a source either as a
// file or as statements. State persists across cells. Unused imports and
// unused variables are not errors; importing a package again is not either.
//
// Redefinition: functions, variables (with :=, var, even with another type)
// and constants may be redefined by re-running a cell, and so may types and
// methods (redefine.go). yaegi v0.16.1 keeps the first definition of a type
// and of its methods, but lets a name be declared again as a type alias,
// which later code then resolves to the new target. A cell that changes
// type T (its definition, or the signature or body of a method of T)
// therefore declares the new definition as Tꞏn — n the generation, 2, 3,
// ...; "ꞏ" is U+A78F, a letter, which cells may not use in their own names,
// so internal names cannot collide with users' — and T as an alias of it.
// Nothing in later cells is rewritten: T means the new definition
// everywhere code is compiled afterwards, an embedded T keeps the field
// name T, and display, String and HTML methods are found on the new type.
// Because yaegi binds a function's calls and types when it compiles it,
// the declarations of earlier cells that depend on T — functions and
// constants that mention it, types that hold or embed it and their
// methods, functions calling those, transitively — are declared again
// from the source the type session keeps (types among them get a
// generation of their own); one that no longer compiles against the new
// definition (the type checker says so) is replaced by a function that
// panics saying why, and the cell warns about it on stderr. Variables are
// not declared again: a value made with an earlier definition keeps its
// type and methods, and using it as a T of the new definition is an error
// that names "T (earlier definition)" and says T was redefined (every
// error maps internal names back). Re-running a cell unchanged makes no
// new generation and declares nothing again; cells that change no type
// cost what they did (one parse of their declarations), and the type
// checker's session keeps an earlier generation only while a variable
// holds one. The alternative,
// rewriting every later reference to T into the current internal name,
// needs the type checker on every cell that mentions T and breaks embedded
// fields' names; aliases need neither. Still refused: redefining a generic
// type (yaegi has no generic aliases). A method added to an existing type
// is not a redefinition: yaegi adds it, and values made earlier have it
// too, as in Go. A function declared again with another body or signature
// is handled the same way, without generations: the functions of earlier
// cells that call it, transitively, are declared again (a stub when they
// no longer compile); a method that calls it keeps calling the earlier
// one, because declaring the method again would make its type a new
// generation and the values made so far earlier definitions. A failed
// redefinition leaves the earlier definitions in effect.
//
// Other yaegi v0.16.1 limits, worked around or reported:
//   - x := x + 1 at the top level would zero x first: such statements go
//     through temporaries;
//   - k := genericFunc(...) at the top level crashes yaegi: the value goes
//     through an interface and k is declared with its dynamic type;
//   - v, err := f() nested in a top-level for/if/switch leaves v and err
//     undefined: compound statements run as the body of a function;
//   - globals defined together from one multi-value call (a, b := f(),
//     var a, b = f()) get symbols without yaegi's global flag (compDefineX
//     in cfg.go), so a function reads them at a level relative to its
//     frame's parent, which is its caller's frame (run.go, call): right
//     when called from the top level, a wrong slot ("reflect: call of
//     reflect.Value.Len on int Value") when called from another function.
//     The values go through temporaries (_qlabT0..., _qlabM0...) and each
//     global is defined from one of them (see selfRedefinition and
//     multiVarDecls); the temporaries are then reset to release the values;
//   - v, ok := x.(T), v, ok := m[k] and v, ok := <-ch at the top level
//     crash yaegi ("nil type"): they run as var v T (or v := m[k] when m
//     and k are names or literals); var ok bool; v, ok = rhs. A receive, an
//     index of computed operands, and var v, ok = rhs are reported as
//     "unsupported" with that rewrite;
//   - Go 1.21–1.23 syntax yaegi lacks is rewritten before evaluation
//     (rewrite.go), with types from go/types run on the cell and the
//     declarations of earlier cells: range over an integer and over a
//     func(yield ...) (break, continue and return included), min, max and
//     clear, Go 1.22 per-iteration loop variables, explicit type arguments
//     for generic calls yaegi cannot infer, func main (run once by the cell
//     that declares it, by main() afterwards), and x := v of an existing
//     global of the same type as an assignment, so that functions declared
//     earlier see the new value. Labeled break and continue out of the
//     body of a range over a func are rewritten too (not from a range over
//     a func nested in another to a label outside both); what cannot be
//     rewritten (goto out of such a body) is reported as "unsupported";
//   - yaegi reuses a function's frame slots and stores references to them:
//     a deferred call's arguments and receiver are evaluated at the defer
//     statement, and a function literal passed to a compiled function in a
//     loop (wg.Go) is made a closure of its iteration, by rewrites
//     (evalorder.go); a defer in the body of a range over a func is the
//     enclosing function's (its defers then run from one list, where a
//     recover no longer stops a panic);
//   - a cell's struct types are reflect.StructOf types, which cannot have
//     unexported fields (yaegi exports them with an X prefix): unexported
//     fields get the tags json:"-" and xml:"-", Go's rule for them
//     (structtags.go);
//   - compiled fmt sees a cell's types without names or methods: the
//     operands of fmt's and log's print functions whose types involve a
//     cell type (or are interfaces) go through qlabrt.Fmt with a
//     description of the type from go/types, so that %T, %#v, %+v, %d and
//     String/Error/GoString/Format work as in go run, inside slices, maps
//     and structs too (fmtvalue.go, fmtrewrite.go); yaegi's own wrappers
//     (maptypes.go) cover a direct operand when types are unknown. Not
//     covered: an interface value nested in another value (a []Shape
//     prints its elements' values, without their String methods), %T
//     with a non-constant format, an `any` holding a named basic type (a
//     type assertion in yaegi cannot tell a Celsius from a float64);
//   - errors.As with a target of a cell type and errors.AsType (Go 1.26,
//     generic, no table) call interpreted versions (errorsas.go); a cell
//     error reaches compiled code in a wrapper that has its Unwrap, Is and
//     As methods too (errwrap.go), so compiled errors.Is and errors.As
//     walk through it; errors.As to a cell-declared interface target does
//     not find a cell error (the wrapper has the error methods only), nor
//     does errors.As find an error struct passed by value through
//     fmt.Errorf's %w (yaegi's wrapper of NotFound{"k"} holds "k", not the
//     struct): pointer errors (&NotFound{...}) are found;
//   - yaegi's generic slices and maps are partly broken: Sort, SortFunc,
//     SortStableFunc, IsSorted, Max, Min, Reverse, Clone, Equal and
//     BinarySearch are provided over []E, and iter.Seq/Seq2 and the
//     iterator functions of slices (All, Values, Backward, Collect,
//     AppendSeq, Sorted, SortedFunc, Chunk) and maps (Keys, Values, All,
//     Insert, Collect) are interpreted sources (see generics.go);
//   - an interpreted value passed to compiled code loses the methods the
//     wrapper of the compiled interface does not have; a cell type's
//     HTML/PNG/SVG/... methods are found by interpreted code (the display
//     of a trailing value), not by display.Display called with it;
//   - a pointer to a cell type does not have the value receiver's
//     methods when asserted to an interface;
//   - yaegi's type switch misses cases naming a cell type that the
//     assertion x.(T) finds: a type switch with such a case becomes an
//     expression switch over assertions (typeswitch.go);
//   - a pointer expression converted to an interface in a loop body
//     (append(shapes, &Rect{id}) to a []Shape) would refer to a slot the
//     next iteration overwrites: such conversions (assignments, var
//     declarations, conversions, arguments of append and of cell
//     functions, composite literal elements) happen in a function literal
//     called there (evalorder.go);
//   - known differences from go run, each a program of the fidelity corpus
//     (testdata/corpus/DIVERGENT): an embedded struct field is not
//     promoted by encoding/json (yaegi makes it anonymous only when it is
//     the struct's only field); errors.As to a cell-declared interface;
//     a value of a cell's named basic type
//     in an interface (Celsius in an any) matches its underlying type
//     (float64) in assertions and type switches.
//
// Which failures keep the kernel's state: a panic or compile error in a
// cell (the cell fails, earlier declarations stay); os.Exit (the cell
// fails with ExitError); a panic in a goroutine a cell started (every go
// statement is rewritten to recover it: the panic is written to the
// stderr of the running cell, or of the next cell when it happens between
// cells); a slice larger than the memory available (make's sizes go
// through a check that refuses it with an error naming the size, instead
// of Go's fatal out-of-memory; the memory available is the system's, or
// what the data segment limit leaves, which the kernel's evaluator sets
// from QLAB_MEMORY_LIMIT, 80% of physical memory by default); an
// interrupted read of os.Stdin. What still ends the process (the kernel's
// supervisor reports it on the cell and starts a new evaluator, state
// lost): stack overflow, allocation past the memory limit that is not one
// make of a slice (a huge map, append growing without end: "fatal error:
// out of memory" naming the limit, 4 to 14 s after the request under a
// 1 GiB limit in the tests), a panic in a goroutine that compiled code starts for a
// cell (wg.Go(f) panicking in f), and Go's other fatal errors (concurrent
// map writes, deadlock of all goroutines).
//
// Run-time errors keep Go's wording: a nil dereference, a nil map write,
// a division by zero. yaegi indexes and slices through reflect, whose
// panics have no numbers; the kernel reads them afterwards where they
// still exist (bounds.go): at a cell's top level, "index out of range [5]
// with length 3" and "slice bounds out of range [:5] with capacity 3", at
// the failing expression's line; inside a function or a loop, whose
// locals are gone, the error names the expression (xs[k]) instead.
//
// Standard input: os.Stdin and fmt.Scan* of a cell read lines that the
// frontend gives (input_request through kernel/cell's binding) when it
// allows input, and fail with an error saying allow_stdin is false when
// it does not (stdin.go).
//
// Memory: yaegi keeps the top level of every cell in one global frame that
// only grows (every temporary of a top-level expression has a slot, and a
// variable defined again gets a new one). After each cell the slots no
// symbol names are reset (memory.go), so what a cell no longer names is
// collectable: re-running a cell that loads a data set does not add up.
// The slots above the last named one are then cut, with the kernel's
// temporaries that name them, so that the frame does not grow with the
// number of cells run (yaegi copies the whole frame each time a
// compilation adds a slot: a trivial cell cost 6 ms after 4,000 cells);
// a cell whose top level makes a closure keeps its slots, since yaegi's
// closures write their slot back after every call.
//
// The value of a cell ending in an expression is its result, rendered with
// display rules (see Execute for which trailing expressions display).
//
// Output of interpreted and compiled code alike is captured at the
// file-descriptor level when Options.CaptureFD is set, and streamed to the
// cell's Output while it runs.
package interp
