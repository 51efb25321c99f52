package labeling

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
)

// lbfgs minimises the objective from x with gonum's L-BFGS. It stops when no gradient
// component exceeds tol (converged), after maxIter iterations, or when the loss stops
// moving; ctx cancels it.
func lbfgs(ctx context.Context, o *objective, x []float64, tol float64, maxIter int) ([]float64, int, bool, error) {
	n := len(x)
	lastX, lastG := make([]float64, n), make([]float64, n)
	var lastF float64
	have := false
	eval := func(x []float64) {
		if have && floats.Equal(x, lastX) {
			return
		}
		copy(lastX, x)
		lastF, have = o.eval(x, lastG), true
	}
	p := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(g, x []float64) { eval(x); copy(g, lastG) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{GradientThreshold: tol, MajorIterations: maxIter,
		Converger: &optimize.FunctionConverge{Relative: 1e-12, Iterations: 50}}
	res, err := optimize.Minimize(p, x, settings, &optimize.LBFGS{Store: 10})
	if cerr := ctx.Err(); cerr != nil {
		return nil, 0, false, fmt.Errorf("classifier training: %w", cerr)
	}
	if res == nil || len(res.X) != n || !finite(res.X) {
		return nil, 0, false, fmt.Errorf("classifier training: %v", err)
	}
	// a line search that cannot improve any more may still have ended at the optimum
	converged := res.Status == optimize.GradientThreshold || (len(res.Gradient) == n && floats.Norm(res.Gradient, math.Inf(1)) <= 10*tol)
	return res.X, res.MajorIterations, converged, nil
}

// logLoss is the mean negative log-likelihood of the human labels' scores at temperature T.
func logLoss(sc [][]float64, ds dataset, multi bool, T float64) float64 {
	var sum float64
	for j, i := range ds.human {
		z := make([]float64, len(sc[j]))
		for k := range z {
			z[k] = sc[j][k] / T
		}
		y := ds.y[i]
		if multi {
			for k := range z {
				t := z[k]
				if y[k] == 0 {
					t = -t
				}
				sum += softplus(-t)
			}
			continue
		}
		mx := slices.Max(z)
		var s float64
		for _, v := range z {
			s += math.Exp(v - mx)
		}
		sum += mx + math.Log(s) - z[slices.Index(y, 1)]
	}
	return sum / float64(max(1, len(ds.human)))
}

// fitTemperature minimises the cross-validated log-loss over the temperature (the loss is
// convex in 1/T: golden-section search over its logarithm).
func fitTemperature(sc [][]float64, ds dataset, multi bool) float64 {
	f := func(lb float64) float64 { return logLoss(sc, ds, multi, math.Exp(-lb)) }
	a, b := math.Log(1.0/50), math.Log(50.0)
	phi := (math.Sqrt(5) - 1) / 2
	c, d := b-phi*(b-a), a+phi*(b-a)
	fc, fd := f(c), f(d)
	for range 80 {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - phi*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + phi*(b-a)
			fd = f(d)
		}
	}
	return math.Exp(-(a + b) / 2)
}

// calibrationError is the expected calibration error over 15 equal-width bins: the mean,
// weighted by bin size, of |accuracy − confidence|. Single-label: the top class's
// probability against being right; multi-label: every class's yes/no decision.
func calibrationError(sc [][]float64, ds dataset, multi bool, T float64) float64 {
	type obs struct {
		conf  float64
		right bool
	}
	var all []obs
	for j, i := range ds.human {
		z := make([]float64, len(sc[j]))
		for k := range z {
			z[k] = sc[j][k] / T
		}
		p := activate(z, multi)
		y := ds.y[i]
		if multi {
			for k, pk := range p {
				all = append(all, obs{math.Max(pk, 1-pk), (pk >= 0.5) == (y[k] > 0)})
			}
			continue
		}
		best := 0
		for k := range p {
			if p[k] > p[best] {
				best = k
			}
		}
		all = append(all, obs{p[best], y[best] > 0})
	}
	return ece(all, func(o obs) (float64, bool) { return o.conf, o.right })
}

// ece computes the expected calibration error of observations (confidence, right).
func ece[T any](obs []T, get func(T) (float64, bool)) float64 {
	const bins = 15
	var conf, acc [bins]float64
	var n [bins]int
	for _, o := range obs {
		c, r := get(o)
		b := min(int(c*bins), bins-1)
		conf[b] += c
		if r {
			acc[b]++
		}
		n[b]++
	}
	var e float64
	for b := range bins {
		if n[b] > 0 {
			e += math.Abs(acc[b]-conf[b]) / float64(len(obs))
		}
	}
	return e
}

// wilsonZ is the one-sided 95% normal quantile.
const wilsonZ = 1.6448536269514722

// WilsonLower is the one-sided 95% Wilson score lower bound of a proportion right/n.
func WilsonLower(right, n int) float64 {
	lo, _ := wilson(right, n)
	return lo
}

func wilson(right, n int) (lo, hi float64) { return WilsonInterval(right, n, wilsonZ) }

// WilsonInterval is the Wilson score interval of a proportion right/n at normal quantile
// z (1.96: a two-sided 95% interval).
func WilsonInterval(right, n int, z float64) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	p, nn, z2 := float64(right)/float64(n), float64(n), z*z
	center := p + z2/(2*nn)
	spread := z * math.Sqrt(p*(1-p)/nn+z2/(4*nn*nn))
	den := 1 + z2/nn
	return math.Max(0, (center-spread)/den), math.Min(1, (center+spread)/den)
}

// chooseGate opens the gate at the largest uncertainty threshold at which the
// cross-validated human labels show the target: the one-sided 95% Wilson lower bound of
// the automatic labels' accuracy is at least the target, and no class's automatic labels
// are shown to be below it (its Wilson upper bound is at least the target). Every class
// needs MinLabelsPerClass human labels first. Human labels were mostly chosen because the
// classifier was unsure of them, so they are harder than the chunks it labels
// automatically: the estimate errs on the safe side.
func chooseGate(tc TrainConfig, m *Model, ds dataset, oof [][]float64, perClass []int) Gate {
	g := Gate{Target: tc.Target, Proposed: 1}
	for k, n := range perClass {
		if n < max(tc.MinLabelsPerClass, 2) {
			g.Reason = fmt.Sprintf("class %q has %d human labels; automatic labels need %d of every class", tc.Classes[k], n, max(tc.MinLabelsPerClass, 2))
			return g
		}
	}
	if oof == nil {
		g.Reason = "no cross-validated predictions"
		return g
	}
	type item struct {
		u     float64
		right bool
		class int
	}
	items := make([]item, len(ds.human))
	for j, i := range ds.human {
		d := m.decideScores(oof[j])
		items[j] = item{u: d.Uncertainty, right: m.correct(d, ds.y[i]), class: -1}
		if !m.MultiLabel {
			items[j].class = slices.Index(m.Classes, d.Classes[0])
		}
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].u < items[b].u })
	if len(items) > 0 {
		g.Proposed = items[0].u
	}
	K := len(m.Classes)
	n, right := 0, 0
	cn, cr := make([]int, K), make([]int, K)
	bestLB, bestN := 0.0, 0
	for j, it := range items {
		n++
		if it.right {
			right++
		}
		if it.class >= 0 {
			cn[it.class]++
			if it.right {
				cr[it.class]++
			}
		}
		if j+1 < len(items) && items[j+1].u == it.u {
			continue // a threshold sits between distinct values
		}
		if float64(right) >= tc.Target*float64(n) {
			g.Proposed = it.u
		}
		lb := WilsonLower(right, n)
		if lb > bestLB {
			bestLB, bestN = lb, n
		}
		if lb < tc.Target {
			continue
		}
		ok := true
		for k := range cn {
			if _, hi := wilson(cr[k], cn[k]); cn[k] > 0 && hi < tc.Target {
				ok = false
			}
		}
		if ok {
			g.Open, g.Threshold, g.Auto, g.Right, g.LowerBound, g.Reason = true, it.u, n, right, lb, ""
		}
	}
	g.Curve = curve(len(items), func(t float64) (humans, auto, right int) {
		for _, it := range items {
			switch {
			case it.u > t:
				humans++
			case it.right:
				auto++
				right++
			default:
				auto++
			}
		}
		return
	}, g)
	if !g.Open {
		g.Reason = fmt.Sprintf("no threshold shows %.1f%% accuracy yet: the best 95%% lower bound is %.1f%% (%d of %d cross-validated human labels)", 100*tc.Target, 100*bestLB, bestN, len(items))
	}
	return g
}

func finite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// curve is the threshold trade-off at thresholds 0.05, 0.10, … 0.95 and the gate's: the
// share of the n items that would go to humans and the accuracy of the rest.
func curve(n int, count func(t float64) (humans, auto, right int), g Gate) []SimRow {
	if n == 0 {
		return nil
	}
	var ts []float64
	for i := 1; i < 20; i++ {
		ts = append(ts, float64(i)/20)
	}
	if g.Open {
		ts = append(ts, g.Threshold)
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	rows := make([]SimRow, 0, len(ts))
	for _, t := range ts {
		humans, auto, right := count(t)
		r := SimRow{Threshold: t, Auto: auto, ToHumans: float64(humans) / float64(n), Chosen: g.Open && t == g.Threshold}
		if auto > 0 {
			r.AutoAccuracy = float64(right) / float64(auto)
		}
		r.AutoAccuracyLower = WilsonLower(right, auto)
		rows = append(rows, r)
	}
	return rows
}
