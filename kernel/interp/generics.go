package interp

import (
	"fmt"

	yaegi "github.com/traefik/yaegi/interp"
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
`

const mapsExtra = `package maps

func Keys[K comparable, V any](q_m map[K]V) []K {
	var q_r []K // make([]K, 0, len(q_m)) fails in yaegi: "undefined type for V"
	for q_k := range q_m {
		q_r = append(q_r, q_k)
	}
	return q_r
}

func Values[K comparable, V any](q_m map[K]V) []V {
	var q_r []V
	for _, q_v := range q_m {
		q_r = append(q_r, q_v)
	}
	return q_r
}
`

func loadGenericHelpers(yi *yaegi.Interpreter) error {
	for _, src := range []string{slicesExtra, mapsExtra} {
		if _, err := yi.Compile(src); err != nil {
			return fmt.Errorf("interp: loading generic helpers: %w", err)
		}
	}
	return nil
}
