package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A worker runs shares of one parallel call. Each share pulls chunks from a
// shared counter until none are left, so which goroutine computes a chunk
// varies between runs; callers keep results independent of that by giving
// every chunk a fixed, self-contained piece of the output.
//
// A helper runs work and then done; done must release the WaitGroup the
// caller waits on in share.
type worker interface {
	work()
	done()
}

// Helper goroutines are started lazily, one fewer than GOMAXPROCS at its
// largest, and live for the life of the process. Work is handed over only to
// helpers idle at that moment (a non-blocking send on an unbuffered
// channel); the caller always works too. So nested or concurrent parallel
// calls cannot deadlock: at worst the caller does everything itself.
var (
	helperMu sync.Mutex
	helpers  atomic.Int32
	handoff  = make(chan worker)
)

func helperLoop() {
	for w := range handoff {
		w.work()
		w.done()
	}
}

// share runs w on the calling goroutine plus up to extra idle helpers, and
// returns when every share has finished. wg must be the WaitGroup that
// w.done releases.
func share(w worker, wg *sync.WaitGroup, extra int) {
	if extra > 0 {
		if int(helpers.Load()) < extra {
			helperMu.Lock()
			for int(helpers.Load()) < extra {
				go helperLoop()
				helpers.Add(1)
			}
			helperMu.Unlock()
		}
	handing:
		for i := 0; i < extra; i++ {
			wg.Add(1)
			select {
			case handoff <- w:
			default:
				wg.Done()
				break handing
			}
		}
	}
	w.work()
	wg.Wait()
}

// forJob is one ParallelFor call.
type forJob struct {
	n, grain int
	chunks   int64
	next     atomic.Int64
	fn       func(lo, hi int)
	wg       sync.WaitGroup
}

var forJobs = sync.Pool{New: func() any { return new(forJob) }}

func (j *forJob) work() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		lo := int(c) * j.grain
		j.fn(lo, min(lo+j.grain, j.n))
	}
}

func (j *forJob) done() { j.wg.Done() }

// ParallelFor calls fn(lo, hi) for the consecutive chunks [0,grain),
// [grain,2*grain), ... covering [0,n) (the last may be shorter), spread over
// up to GOMAXPROCS goroutines, and returns when all have returned. The chunk
// boundaries depend only on n and grain, never on the number of goroutines,
// so a fn that writes only its own chunk's outputs gives bit-identical
// results for any GOMAXPROCS. Chunks run concurrently and in no fixed order.
// grain < 1 is taken as 1; n <= 0 does nothing. fn may itself call Sgemm or
// ParallelFor.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	chunks := (n + grain - 1) / grain
	procs := runtime.GOMAXPROCS(0)
	if chunks == 1 || procs == 1 {
		for lo := 0; lo < n; lo += grain {
			fn(lo, min(lo+grain, n))
		}
		return
	}
	j := forJobs.Get().(*forJob)
	j.n, j.grain, j.chunks, j.fn = n, grain, int64(chunks), fn
	j.next.Store(0)
	share(j, &j.wg, min(procs, chunks)-1)
	j.fn = nil
	forJobs.Put(j)
}
