package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Work is split into a fixed number of tasks that depends only on the
// problem size, never on GOMAXPROCS; each task writes its own output region
// or its own partial-sum slot, and partial sums are combined in task order.
// Which goroutine runs a task therefore cannot change any result bit.
//
// The pool below keeps long-lived workers and pre-allocated job records so
// that a steady-state parallel call allocates nothing (a `go` statement
// with a closure would allocate on every call).

// taskFunc runs task i on worker w (0 <= w < workers); w only selects
// scratch memory.
type taskFunc func(w, i int)

type job struct {
	fn   taskFunc
	n    int64
	next atomic.Int64
	ids  atomic.Int64
	wg   sync.WaitGroup
	_    [64]byte // keep hot counters of different jobs off one cache line
}

var pool struct {
	mu      sync.Mutex
	started int
	jobs    chan *job
	free    []*job
}

func init() {
	// Unbuffered: a job is handed only to a worker idle at that moment (see
	// parallel), so nested or concurrent calls never wait on busy workers.
	pool.jobs = make(chan *job)
}

// workers returns how many goroutines a parallel call over n tasks uses.
func workers(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n))
}

// parallel runs fn(w, i) for every i in [0, n) and returns when all are done.
func parallel(n int, fn taskFunc) {
	w := workers(n)
	if w <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	pool.mu.Lock()
	for pool.started < w-1 {
		pool.started++
		go worker()
	}
	var j *job
	if k := len(pool.free); k > 0 {
		j = pool.free[k-1]
		pool.free = pool.free[:k-1]
	} else {
		j = new(job)
	}
	pool.mu.Unlock()

	j.fn, j.n = fn, int64(n)
	j.next.Store(0)
	j.ids.Store(1) // the caller is worker 0
	// Hand the job to idle workers only; the caller runs whatever they do
	// not take, so a call never blocks on workers busy elsewhere.
handing:
	for k := 0; k < w-1; k++ {
		j.wg.Add(1)
		select {
		case pool.jobs <- j:
		default:
			j.wg.Done()
			break handing
		}
	}
	j.run(0)
	j.wg.Wait()
	j.fn = nil
	pool.mu.Lock()
	pool.free = append(pool.free, j)
	pool.mu.Unlock()
}

func (j *job) run(w int) {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.fn(w, int(i))
	}
}

func worker() {
	for j := range pool.jobs {
		w := int(j.ids.Add(1) - 1)
		j.run(w)
		j.wg.Done()
	}
}

// chunks splits n items into a fixed number of nearly equal chunks of at
// least grain items each (a function of n and grain only) and returns the
// count; chunk i covers [chunkLo(n, c, i), chunkLo(n, c, i+1)).
func chunks(n, grain int) int {
	if n <= 0 {
		return 0
	}
	c := n / max(grain, 1)
	return max(1, min(c, 64))
}

func chunkLo(n, c, i int) int { return i * n / c }
