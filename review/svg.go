package review

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/docingest/docingest/labeling"
)

// The charts are SVG written on the server: readable without script, no chart library.
// Every text in them is escaped; numbers are formatted here. Colours come from classes
// in app.css (the Content-Security-Policy allows no inline style).

func esc(s string) string { return template.HTMLEscapeString(s) }

// probabilityBar is a small bar of a probability, beside a class on the Label page.
func probabilityBar(p float64) template.HTML {
	w := 100 * max(0, min(1, p))
	return template.HTML(fmt.Sprintf(`<svg class="pbar" width="100" height="10" viewBox="0 0 100 10" role="img" aria-label="probability %.0f%%"><rect class="track" width="100" height="10"/><rect class="fill" width="%.1f" height="10"/></svg>`, 100*p, w))
}

type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

func (b *svgBuf) open(w, h int, label string) {
	b.f(`<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h, w, h, esc(label))
}

func (b *svgBuf) html() template.HTML {
	b.f(`</svg>`)
	return template.HTML(b.String())
}

// labelChart is a horizontal bar per class: human labels and automatic ones.
func labelChart(rows []ClassRow) template.HTML {
	if len(rows) == 0 {
		return ""
	}
	most := 1
	for _, r := range rows {
		most = max(most, r.Human, r.Auto)
	}
	const left, width, barH = 140, 300, 12
	h := 30 + len(rows)*(2*barH+10)
	var b svgBuf
	b.open(left+width+70, h, "labels per class: human and automatic")
	b.f(`<rect class="s-human" x="%d" y="4" width="10" height="10"/><text x="%d" y="13">human</text>`, left, left+14)
	b.f(`<rect class="s-auto" x="%d" y="4" width="10" height="10"/><text x="%d" y="13">automatic</text>`, left+80, left+94)
	y := 24
	for _, r := range rows {
		b.f(`<text class="lbl" x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+barH+3, esc(r.Name))
		for i, v := range []int{r.Human, r.Auto} {
			cls := []string{"s-human", "s-auto"}[i]
			w := float64(width) * float64(v) / float64(most)
			b.f(`<rect class="%s" x="%d" y="%d" width="%.1f" height="%d"><title>%s: %d %s</title></rect>`, cls, left, y, w, barH, esc(r.Name), v, []string{"human", "automatic"}[i])
			b.f(`<text x="%.1f" y="%d">%d</text>`, float64(left)+w+4, y+barH-2, v)
			y += barH
		}
		y += 10
	}
	return b.html()
}

// histogramChart is the uncertainty of the items waiting for humans and those sent, with
// the threshold under which chunks are labeled automatically.
func histogramChart(h HistogramData, threshold float64, open bool) template.HTML {
	n := len(h.Waiting)
	if n == 0 {
		return ""
	}
	most := 1
	for i := range n {
		most = max(most, h.Waiting[i]+h.Sent[i])
	}
	const left, top, width, height = 40, 20, 400, 160
	var b svgBuf
	b.open(left+width+20, top+height+40, "histogram of uncertainty")
	b.f(`<rect class="s-sent" x="%d" y="2" width="10" height="10"/><text x="%d" y="11">sent to humans</text>`, left, left+14)
	b.f(`<rect class="s-wait" x="%d" y="2" width="10" height="10"/><text x="%d" y="11">waiting</text>`, left+130, left+144)
	bw := float64(width) / float64(n)
	for i := range n {
		x := float64(left) + float64(i)*bw
		hs := float64(height) * float64(h.Sent[i]) / float64(most)
		hw := float64(height) * float64(h.Waiting[i]) / float64(most)
		lo, hi := float64(i)/float64(n), float64(i+1)/float64(n)
		b.f(`<rect class="s-sent" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%.2f–%.2f: %d sent</title></rect>`, x+1, float64(top+height)-hs, bw-2, hs, lo, hi, h.Sent[i])
		b.f(`<rect class="s-wait" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%.2f–%.2f: %d waiting</title></rect>`, x+1, float64(top+height)-hs-hw, bw-2, hw, lo, hi, h.Waiting[i])
	}
	b.f(`<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, top+height, left+width, top+height)
	for i := 0; i <= 4; i++ {
		b.f(`<text x="%.1f" y="%d" text-anchor="middle">%.2f</text>`, float64(left)+float64(i)*float64(width)/4, top+height+14, float64(i)/4)
	}
	b.f(`<text x="%d" y="%d" text-anchor="middle">uncertainty</text>`, left+width/2, top+height+30)
	b.f(`<text x="%d" y="%d" text-anchor="end">%d</text>`, left-4, top+8, most)
	if open {
		x := float64(left) + threshold*float64(width)
		b.f(`<line class="mark" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text x="%.1f" y="%d">threshold %.3f</text>`, x, top, x, top+height, x+3, top+10, threshold)
	}
	return b.html()
}

// curveChart is the threshold trade-off: share sent to humans (x) against the accuracy
// of the automatic labels (y), the target as a line and the chosen threshold marked.
func curveChart(rows []labeling.SimRow, target float64) template.HTML {
	if len(rows) == 0 {
		return ""
	}
	const left, top, width, height = 50, 10, 360, 180
	lo := 1.0
	for _, r := range rows {
		if r.Auto > 0 {
			lo = min(lo, r.AutoAccuracyLower, r.AutoAccuracy)
		}
	}
	lo = max(0, min(lo, target)-0.02)
	y := func(a float64) float64 { return float64(top) + float64(height)*(1-(a-lo)/(1-lo)) }
	x := func(s float64) float64 { return float64(left) + float64(width)*s }
	var b svgBuf
	b.open(left+width+20, top+height+40, "share sent to humans against accuracy of automatic labels")
	b.f(`<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/><line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, top+height, left+width, top+height, left, top, left, top+height)
	b.f(`<line class="target" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text x="%d" y="%.1f" text-anchor="end">target %.1f%%</text>`, left, y(target), left+width, y(target), left+width, y(target)-3, 100*target)
	var pts, lower []string
	for _, r := range rows {
		if r.Auto == 0 {
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(r.ToHumans), y(r.AutoAccuracy)))
		lower = append(lower, fmt.Sprintf("%.1f,%.1f", x(r.ToHumans), y(r.AutoAccuracyLower)))
	}
	b.f(`<polyline class="s-acc" points="%s"/><polyline class="s-lower" points="%s"/>`, strings.Join(pts, " "), strings.Join(lower, " "))
	for _, r := range rows {
		if r.Auto == 0 {
			continue
		}
		cls := "pt"
		if r.Chosen {
			cls = "pt chosen"
		}
		b.f(`<circle class="%s" cx="%.1f" cy="%.1f" r="%d"><title>threshold %.3f: %.1f%% to humans, automatic labels %.1f%% right (lower bound %.1f%%)</title></circle>`,
			cls, x(r.ToHumans), y(r.AutoAccuracy), map[bool]int{true: 5, false: 3}[r.Chosen], r.Threshold, 100*r.ToHumans, 100*r.AutoAccuracy, 100*r.AutoAccuracyLower)
	}
	for i := 0; i <= 4; i++ {
		b.f(`<text x="%.1f" y="%d" text-anchor="middle">%d%%</text>`, x(float64(i)/4), top+height+14, 25*i)
	}
	b.f(`<text x="%d" y="%d" text-anchor="middle">share sent to humans</text>`, left+width/2, top+height+30)
	b.f(`<text x="%d" y="%.1f" text-anchor="end">%.0f%%</text><text x="%d" y="%.1f" text-anchor="end">100%%</text>`, left-4, y(lo), 100*lo, left-4, y(1)+8)
	return b.html()
}

// versionChart is the cross-validated accuracy of each classifier version against the
// human labels it learned from.
func versionChart(vs []Version) template.HTML {
	var pts []Version
	for _, v := range vs {
		if v.HumanLabels > 0 {
			pts = append(pts, v)
		}
	}
	if len(pts) < 2 {
		return ""
	}
	const left, top, width, height = 50, 10, 360, 140
	most := 1
	for _, v := range pts {
		most = max(most, v.HumanLabels)
	}
	x := func(n int) float64 { return float64(left) + float64(width)*float64(n)/float64(most) }
	y := func(a float64) float64 { return float64(top) + float64(height)*(1-a) }
	var b svgBuf
	b.open(left+width+20, top+height+40, "cross-validated accuracy by classifier version")
	b.f(`<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/><line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, top+height, left+width, top+height, left, top, left, top+height)
	var line []string
	for _, v := range pts {
		line = append(line, fmt.Sprintf("%.1f,%.1f", x(v.HumanLabels), y(v.CVAccuracy)))
	}
	b.f(`<polyline class="s-acc" points="%s"/>`, strings.Join(line, " "))
	for _, v := range pts {
		b.f(`<circle class="pt" cx="%.1f" cy="%.1f" r="3"><title>%s: %d human labels, %.1f%% cross-validated accuracy</title></circle>`, x(v.HumanLabels), y(v.CVAccuracy), esc(v.Version), v.HumanLabels, 100*v.CVAccuracy)
	}
	b.f(`<text x="%d" y="%d" text-anchor="middle">human labels</text><text x="%d" y="%d" text-anchor="end">%d</text>`, left+width/2, top+height+30, left+width, top+height+14, most)
	b.f(`<text x="%d" y="%d" text-anchor="end">100%%</text><text x="%d" y="%d" text-anchor="end">0%%</text>`, left-4, top+8, left-4, top+height)
	return b.html()
}
