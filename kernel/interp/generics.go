package interp

import (
	"fmt"
	"strings"

	yaegi "github.com/traefik/yaegi/interp"
	gen "github.com/traefik/yaegi/stdlib/generic"
)

// yaegi's extracted standard library has no generic functions (the
// extractor skips them), and the generic sources it interprets instead for
// slices and maps fail whenever a type parameter is only reachable through a
// constraint like S ~[]E ("undefined type for E": slices.Sort, Max, Reverse,
// Clone, Equal, ...). These sources redefine the common ones over plain []E
// and map[K]V parameters, which yaegi infers. A named slice type
// (type IDs []int) must be converted to its underlying type to use them.
// Parameters and locals carry a q_ prefix: yaegi instantiates a generic
// body in a scope where a cell's global of the same name (k, v, s, ...)
// shadows them.
// Sorting of []int, []float64 and []string calls package sort's compiled
// functions; other element types sort through sort.Slice.
const slicesExtra = `package slices

import "sort"

func Sort[E cmp.Ordered](q_x []E) {
	switch q_v := any(q_x).(type) {
	case []int:
		sort.Ints(q_v)
	case []float64:
		sort.Float64s(q_v)
	case []string:
		sort.Strings(q_v)
	default:
		sort.Slice(q_x, func(q_i, q_j int) bool { return q_x[q_i] < q_x[q_j] })
	}
}

func SortFunc[E any](q_x []E, q_cmp func(q_a, q_b E) int) {
	sort.Slice(q_x, func(q_i, q_j int) bool { return q_cmp(q_x[q_i], q_x[q_j]) < 0 })
}

func SortStableFunc[E any](q_x []E, q_cmp func(q_a, q_b E) int) {
	sort.SliceStable(q_x, func(q_i, q_j int) bool { return q_cmp(q_x[q_i], q_x[q_j]) < 0 })
}

func IsSorted[E cmp.Ordered](q_x []E) bool {
	for q_i := len(q_x) - 1; q_i > 0; q_i-- {
		if q_x[q_i] < q_x[q_i-1] {
			return false
		}
	}
	return true
}

func Max[E cmp.Ordered](q_x []E) E {
	if len(q_x) < 1 {
		panic("slices.Max: empty list")
	}
	q_m := q_x[0]
	for q_i := 1; q_i < len(q_x); q_i++ {
		if q_x[q_i] > q_m {
			q_m = q_x[q_i]
		}
	}
	return q_m
}

func Min[E cmp.Ordered](q_x []E) E {
	if len(q_x) < 1 {
		panic("slices.Min: empty list")
	}
	q_m := q_x[0]
	for q_i := 1; q_i < len(q_x); q_i++ {
		if q_x[q_i] < q_m {
			q_m = q_x[q_i]
		}
	}
	return q_m
}

func Reverse[E any](q_s []E) {
	for q_i, q_j := 0, len(q_s)-1; q_i < q_j; q_i, q_j = q_i+1, q_j-1 {
		q_s[q_i], q_s[q_j] = q_s[q_j], q_s[q_i]
	}
}

func Clone[E any](q_s []E) []E {
	if q_s == nil {
		return nil
	}
	return append([]E{}, q_s...)
}

func Equal[E comparable](q_s1, q_s2 []E) bool {
	if len(q_s1) != len(q_s2) {
		return false
	}
	for q_i := range q_s1 {
		if q_s1[q_i] != q_s2[q_i] {
			return false
		}
	}
	return true
}

func BinarySearch[E cmp.Ordered](q_x []E, q_target E) (int, bool) {
	q_i := sort.Search(len(q_x), func(q_i int) bool { return q_x[q_i] >= q_target })
	return q_i, q_i < len(q_x) && q_x[q_i] == q_target
}

func Compact[E comparable](q_s []E) []E {
	if len(q_s) < 2 {
		return q_s
	}
	q_i := 1
	for q_k := 1; q_k < len(q_s); q_k++ {
		if q_s[q_k] != q_s[q_k-1] {
			q_s[q_i] = q_s[q_k]
			q_i++
		}
	}
	var q_zero E
	for q_k := q_i; q_k < len(q_s); q_k++ {
		q_s[q_k] = q_zero
	}
	return q_s[:q_i]
}

func CompactFunc[E any](q_s []E, q_eq func(E, E) bool) []E {
	if len(q_s) < 2 {
		return q_s
	}
	q_i := 1
	for q_k := 1; q_k < len(q_s); q_k++ {
		if !q_eq(q_s[q_k], q_s[q_k-1]) {
			q_s[q_i] = q_s[q_k]
			q_i++
		}
	}
	var q_zero E
	for q_k := q_i; q_k < len(q_s); q_k++ {
		q_s[q_k] = q_zero
	}
	return q_s[:q_i]
}

func Insert[E any](q_s []E, q_i int, q_v ...E) []E {
	if q_i < 0 || q_i > len(q_s) {
		panic("slices.Insert: index out of range")
	}
	q_out := make([]E, 0, len(q_s)+len(q_v))
	q_out = append(q_out, q_s[:q_i]...)
	q_out = append(q_out, q_v...)
	return append(q_out, q_s[q_i:]...)
}

func Delete[E any](q_s []E, q_i, q_j int) []E {
	if q_i < 0 || q_j > len(q_s) || q_i > q_j {
		panic("slices.Delete: index out of range")
	}
	q_n := len(q_s)
	q_s = append(q_s[:q_i], q_s[q_j:]...)
	var q_zero E
	for q_k := len(q_s); q_k < q_n; q_k++ {
		q_s[:q_n][q_k] = q_zero
	}
	return q_s
}

func Concat[E any](q_ss ...[]E) []E {
	var q_out []E
	for _, q_s := range q_ss {
		q_out = append(q_out, q_s...)
	}
	return q_out
}

func IndexFunc[E any](q_s []E, q_f func(E) bool) int {
	for q_i := range q_s {
		if q_f(q_s[q_i]) {
			return q_i
		}
	}
	return -1
}

func ContainsFunc[E any](q_s []E, q_f func(E) bool) bool {
	return IndexFunc(q_s, q_f) >= 0
}
`

// iterSrc is package iter (Go 1.23): the sequence types, and Pull and
// Pull2 over a goroutine and channels (Go's use coroutines; the values and
// the order of events are the same).
const iterSrc = `package iter

type Seq[V any] func(yield func(V) bool)

type Seq2[K, V any] func(yield func(K, V) bool)

func Pull[V any](q_seq Seq[V]) (func() (V, bool), func()) {
	q_req := make(chan bool)
	q_out := make(chan V)
	q_end := make(chan bool)
	q_done := false
	go func() {
		if <-q_req {
			q_seq(func(q_v V) bool {
				q_out <- q_v
				q_more := <-q_req
				return q_more
			})
		}
		close(q_end)
	}()
	q_next := func() (V, bool) {
		var q_zero V
		if q_done {
			return q_zero, false
		}
		select {
		case q_req <- true:
		case <-q_end:
			q_done = true
			return q_zero, false
		}
		select {
		case q_v := <-q_out:
			return q_v, true
		case <-q_end:
			q_done = true
			return q_zero, false
		}
	}
	q_stop := func() {
		if q_done {
			return
		}
		q_done = true
		select {
		case q_req <- false:
		case <-q_end:
		}
		<-q_end
	}
	return q_next, q_stop
}

func Pull2[K, V any](q_seq Seq2[K, V]) (func() (K, V, bool), func()) {
	q_req := make(chan bool)
	q_outK := make(chan K)
	q_outV := make(chan V)
	q_end := make(chan bool)
	q_done := false
	go func() {
		if <-q_req {
			q_seq(func(q_k K, q_v V) bool {
				q_outK <- q_k
				q_outV <- q_v
				q_more := <-q_req
				return q_more
			})
		}
		close(q_end)
	}()
	q_next := func() (K, V, bool) {
		var q_zk K
		var q_zv V
		if q_done {
			return q_zk, q_zv, false
		}
		select {
		case q_req <- true:
		case <-q_end:
			q_done = true
			return q_zk, q_zv, false
		}
		select {
		case q_k := <-q_outK:
			q_v := <-q_outV
			return q_k, q_v, true
		case <-q_end:
			q_done = true
			return q_zk, q_zv, false
		}
	}
	q_stop := func() {
		if q_done {
			return
		}
		q_done = true
		select {
		case q_req <- false:
		case <-q_end:
		}
		<-q_end
	}
	return q_next, q_stop
}
`

// slicesIter and mapsIter are the iterator functions of slices and maps (Go
// 1.23), over plain []E, map[K]V and func types, which yaegi infers (the
// type checker that rewrites cells passes explicit type arguments anyway,
// see rewrite.go). Results are unnamed func types, assignable to iter.Seq
// and iter.Seq2.
const slicesIter = `package slices

func All[E any](q_s []E) func(func(int, E) bool) {
	return func(q_yield func(int, E) bool) {
		for q_i := 0; q_i < len(q_s); q_i++ {
			if !q_yield(q_i, q_s[q_i]) {
				return
			}
		}
	}
}

func Values[E any](q_s []E) func(func(E) bool) {
	return func(q_yield func(E) bool) {
		for q_i := 0; q_i < len(q_s); q_i++ {
			if !q_yield(q_s[q_i]) {
				return
			}
		}
	}
}

func Backward[E any](q_s []E) func(func(int, E) bool) {
	return func(q_yield func(int, E) bool) {
		for q_i := len(q_s) - 1; q_i >= 0; q_i-- {
			if !q_yield(q_i, q_s[q_i]) {
				return
			}
		}
	}
}

func AppendSeq[E any](q_s []E, q_seq func(func(E) bool)) []E {
	q_seq(func(q_v E) bool {
		q_s = append(q_s, q_v)
		return true
	})
	return q_s
}

func Collect[E any](q_seq func(func(E) bool)) []E {
	var q_s []E
	q_seq(func(q_v E) bool {
		q_s = append(q_s, q_v)
		return true
	})
	return q_s
}

func Sorted[E cmp.Ordered](q_seq func(func(E) bool)) []E {
	var q_s []E
	q_seq(func(q_v E) bool {
		q_s = append(q_s, q_v)
		return true
	})
	Sort(q_s)
	return q_s
}

func SortedFunc[E any](q_seq func(func(E) bool), q_cmp func(E, E) int) []E {
	var q_s []E
	q_seq(func(q_v E) bool {
		q_s = append(q_s, q_v)
		return true
	})
	SortFunc(q_s, q_cmp)
	return q_s
}

func Chunk[E any](q_s []E, q_n int) func(func([]E) bool) {
	if q_n < 1 {
		panic("cannot be less than 1")
	}
	return func(q_yield func([]E) bool) {
		for q_i := 0; q_i < len(q_s); q_i += q_n {
			q_end := q_i + q_n
			if q_end > len(q_s) {
				q_end = len(q_s)
			}
			if !q_yield(q_s[q_i:q_end:q_end]) {
				return
			}
		}
	}
}

func Repeat[E any](q_x []E, q_count int) []E {
	if q_count < 0 {
		panic("cannot be negative")
	}
	var q_r []E
	for q_i := 0; q_i < q_count; q_i++ {
		q_r = append(q_r, q_x...)
	}
	return q_r
}
`

const mapsIter = `package maps

func Keys[K comparable, V any](q_m map[K]V) func(func(K) bool) {
	return func(q_yield func(K) bool) {
		for q_k := range q_m {
			if !q_yield(q_k) {
				return
			}
		}
	}
}

func Values[K comparable, V any](q_m map[K]V) func(func(V) bool) {
	return func(q_yield func(V) bool) {
		for _, q_v := range q_m {
			if !q_yield(q_v) {
				return
			}
		}
	}
}

func All[K comparable, V any](q_m map[K]V) func(func(K, V) bool) {
	return func(q_yield func(K, V) bool) {
		for q_k, q_v := range q_m {
			if !q_yield(q_k, q_v) {
				return
			}
		}
	}
}

func Insert[K comparable, V any](q_m map[K]V, q_seq func(func(K, V) bool)) {
	q_seq(func(q_k K, q_v V) bool {
		q_m[q_k] = q_v
		return true
	})
}

func Clone[K comparable, V any](q_m map[K]V) map[K]V {
	if q_m == nil {
		return nil
	}
	q_c := make(map[K]V, len(q_m))
	for q_k, q_v := range q_m {
		q_c[q_k] = q_v
	}
	return q_c
}

func Copy[K comparable, V any](q_dst, q_src map[K]V) {
	for q_k, q_v := range q_src {
		q_dst[q_k] = q_v
	}
}

func Equal[K, V comparable](q_m1, q_m2 map[K]V) bool {
	if len(q_m1) != len(q_m2) {
		return false
	}
	for q_k, q_v1 := range q_m1 {
		if q_v2, q_ok := q_m2[q_k]; !q_ok || q_v1 != q_v2 {
			return false
		}
	}
	return true
}

func EqualFunc[K comparable, V1, V2 any](q_m1 map[K]V1, q_m2 map[K]V2, q_eq func(V1, V2) bool) bool {
	if len(q_m1) != len(q_m2) {
		return false
	}
	for q_k, q_v1 := range q_m1 {
		if q_v2, q_ok := q_m2[q_k]; !q_ok || !q_eq(q_v1, q_v2) {
			return false
		}
	}
	return true
}

func DeleteFunc[K comparable, V any](q_m map[K]V, q_del func(K, V) bool) {
	for q_k, q_v := range q_m {
		if q_del(q_k, q_v) {
			delete(q_m, q_k)
		}
	}
}

func Collect[K comparable, V any](q_seq func(func(K, V) bool)) map[K]V {
	q_m := map[K]V{}
	q_seq(func(q_k K, q_v V) bool {
		q_m[q_k] = q_v
		return true
	})
	return q_m
}
`

// sourcePkgs are the interpreted sources of generic packages, by import
// path, as the cell type checker sees them (typesimport.go): yaegi's own
// generic sources of cmp, maps and slices (Go 1.22) plus the iterator
// functions above.
// The kernel's versions come first: the checker keeps the first of two
// declarations, as yaegi keeps the last loaded (the kernel's, loaded after
// yaegi's own).
var sourcePkgs = map[string][]string{
	"iter":   {iterSrc},
	"cmp":    {gen.Sources[0]},
	"maps":   {mapsIter, gen.Sources[1]},
	"slices": {withCmp(slicesExtra), withCmp(slicesIter), gen.Sources[2]},
}

// withCmp adds the import of cmp that the checker needs to a source of
// package slices (yaegi resolves cmp from the package's other source).
func withCmp(src string) string {
	return strings.Replace(src, "package slices\n", "package slices\n\nimport \"cmp\"\n", 1)
}

func loadGenericHelpers(yi *yaegi.Interpreter) error {
	for _, src := range []string{iterSrc, slicesExtra, slicesIter, mapsIter} {
		if _, err := yi.Compile(src); err != nil {
			return fmt.Errorf("interp: loading generic helpers: %w", err)
		}
	}
	return nil
}
