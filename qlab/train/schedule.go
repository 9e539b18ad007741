package train

import (
	"fmt"
	"math"
)

// ScheduleKind names a learning-rate schedule.
type ScheduleKind string

const (
	// Constant keeps the base learning rate. The zero value "" means
	// Constant.
	Constant ScheduleKind = "constant"
	// Step multiplies the rate by Gamma at each of Milestones (epochs), as
	// torch.optim.lr_scheduler.MultiStepLR.
	Step ScheduleKind = "step"
	// Cosine anneals from the base rate to Floor over the run, as
	// torch.optim.lr_scheduler.CosineAnnealingLR with T_max = the run's
	// length and eta_min = Floor.
	Cosine ScheduleKind = "cosine"
)

// Schedule maps training progress to a learning rate: the base rate of the
// optimizer times a main schedule (Kind), times a linear warm-up factor when
// WarmupEpochs > 0. The zero value is a constant rate, updated per epoch.
type Schedule struct {
	Kind ScheduleKind `json:"kind,omitempty"`
	// Milestones are the epochs (0-based: epoch Milestones[i] and later are
	// affected) at which Step multiplies the rate by Gamma.
	Milestones []int `json:"milestones,omitempty"`
	// Gamma is Step's factor; 0 means 0.1.
	Gamma float64 `json:"gamma,omitempty"`
	// Floor is the rate Cosine ends at (absolute, not relative); default 0.
	Floor float64 `json:"floor,omitempty"`
	// WarmupEpochs, when positive, scales the rate by a linear ramp: the
	// k-th update unit (epoch, or step when PerStep) of the warm-up gets
	// (k+1)/K of the scheduled rate, K being the warm-up length in units
	// (WarmupEpochs rounded up to whole epochs, or WarmupEpochs times the
	// steps per epoch when PerStep). Default 0: no warm-up.
	WarmupEpochs float64 `json:"warmup_epochs,omitempty"`
	// PerStep re-evaluates the schedule at every optimizer step with
	// fractional epoch progress (epoch + batch/batches). By default the
	// rate is evaluated once at the start of each epoch and held for the
	// whole epoch, as a PyTorch scheduler stepped once per epoch.
	PerStep bool `json:"per_step,omitempty"`
}

func (s Schedule) validate() error {
	switch s.Kind {
	case "", Constant, Cosine:
	case Step:
		for i, m := range s.Milestones {
			if m < 0 || i > 0 && m <= s.Milestones[i-1] {
				return fmt.Errorf("train: schedule step: Milestones %v must be increasing and >= 0", s.Milestones)
			}
		}
		if s.Gamma < 0 || math.IsNaN(s.Gamma) {
			return fmt.Errorf("train: schedule step: Gamma %v; want >= 0", s.Gamma)
		}
	default:
		return fmt.Errorf("train: unknown schedule kind %q; want %q, %q or %q", string(s.Kind), Constant, Step, Cosine)
	}
	if s.WarmupEpochs < 0 || math.IsNaN(s.WarmupEpochs) {
		return fmt.Errorf("train: schedule: WarmupEpochs %v; want >= 0", s.WarmupEpochs)
	}
	if s.Floor < 0 || math.IsNaN(s.Floor) {
		return fmt.Errorf("train: schedule: Floor %v; want >= 0", s.Floor)
	}
	return nil
}

// LR returns the learning rate for the step at batch index batch of epoch
// epoch (both 0-based), given the base rate, the number of batches per
// epoch and the number of epochs of the run.
func (s Schedule) LR(base float64, epoch, batch, batches, epochs int) float64 {
	batches = max(batches, 1)
	epochs = max(epochs, 1)
	// t is the progress in epochs; unit and units count update units
	// (epochs, or steps when PerStep) for the warm-up.
	t, unit, perEpoch := float64(epoch), epoch, 1
	if s.PerStep {
		t = float64(epoch) + float64(batch)/float64(batches)
		unit, perEpoch = epoch*batches+batch, batches
	}
	lr := base
	switch s.Kind {
	case Step:
		g := s.Gamma
		if g == 0 {
			g = 0.1
		}
		for _, m := range s.Milestones {
			if t >= float64(m) {
				lr *= g
			}
		}
	case Cosine:
		frac := min(t/float64(epochs), 1)
		lr = s.Floor + (base-s.Floor)*(1+math.Cos(math.Pi*frac))/2
	}
	if s.WarmupEpochs > 0 {
		k := math.Ceil(s.WarmupEpochs * float64(perEpoch))
		if u := float64(unit); u < k {
			lr *= (u + 1) / k
		}
	}
	return lr
}
