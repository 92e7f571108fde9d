package bench

import (
	"fmt"
	"image/color"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// engineColors are the engines' colours in every plot.
var engineColors = map[string]color.Color{
	"quarry":  color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"hnswlib": color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

func engineColor(name string) color.Color {
	if c, ok := engineColors[name]; ok {
		return c
	}
	return color.Gray{Y: 0x60}
}

// PlotANN writes an SVG with one row per dataset: the recall@10–QPS curve
// of every engine (QPS on a log scale), and the distribution of per-query
// latency (empirical CDF) at each engine's operating point, the lowest ef
// reaching recall@10 ≥ 0.95 (else its highest-recall point).
func PlotANN(rep ANNReport, path string) error {
	if len(rep.Datasets) == 0 {
		return fmt.Errorf("bench: plot: no datasets")
	}
	const rowH, width = 9 * vg.Centimeter, 26 * vg.Centimeter
	c := vgsvg.New(width, rowH*vg.Length(len(rep.Datasets)))
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(rep.Datasets), Cols: 2, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	for row, d := range rep.Datasets {
		curve, err := recallQPSPlot(d)
		if err != nil {
			return err
		}
		curve.Draw(tiles.At(dc, 0, row))
		lat, err := latencyPlot(d)
		if err != nil {
			return err
		}
		lat.Draw(tiles.At(dc, 1, row))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func datasetTitle(d ANNDatasetReport) string {
	s := fmt.Sprintf("%s (%d × %d, %s)", d.Name, d.N, d.Dim, d.Metric)
	if d.Synthetic {
		s += ", synthetic"
	}
	return s
}

func recallQPSPlot(d ANNDatasetReport) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = datasetTitle(d) + ": recall–QPS"
	p.X.Label.Text = "recall@10"
	p.Y.Label.Text = "queries/s, one thread (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = false
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	for _, e := range d.Engines {
		var xys plotter.XYs
		pts := slices.Clone(e.Sweep)
		slices.SortFunc(pts, func(a, b ANNPoint) int { return a.Ef - b.Ef })
		for _, pt := range pts {
			if pt.QPS > 0 {
				xys = append(xys, plotter.XY{X: pt.Recall, Y: pt.QPS})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		l.Color, s.Color = engineColor(e.Name), engineColor(e.Name)
		l.Width = vg.Points(1.5)
		p.Add(l, s)
		p.Legend.Add(e.Name, l, s)
	}
	return p, nil
}

// operatingPoint is the sweep point whose latencies the plot shows.
func operatingPoint(sweep []ANNPoint) (ANNPoint, bool) {
	pts := slices.Clone(sweep)
	slices.SortFunc(pts, func(a, b ANNPoint) int { return a.Ef - b.Ef })
	var best ANNPoint
	found := false
	for _, p := range pts {
		if len(p.Latencies) == 0 {
			continue
		}
		if p.Recall >= 0.95 {
			return p, true
		}
		if !found || p.Recall > best.Recall {
			best, found = p, true
		}
	}
	return best, found
}

func latencyPlot(d ANNDatasetReport) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = datasetTitle(d) + ": per-query latency"
	p.X.Label.Text = "latency, µs (log)"
	p.Y.Label.Text = "share of queries at or below"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	for _, e := range d.Engines {
		op, ok := operatingPoint(e.Sweep)
		if !ok {
			continue
		}
		lat := slices.Clone(op.Latencies)
		slices.Sort(lat)
		xys := make(plotter.XYs, 0, len(lat))
		for i, v := range lat {
			if v > 0 {
				xys = append(xys, plotter.XY{X: v, Y: float64(i+1) / float64(len(lat))})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = engineColor(e.Name)
		l.Width = vg.Points(1.5)
		p.Add(l)
		label := fmt.Sprintf("%s, ef %d (recall %.3f): p50 %.0f µs, p99 %.0f µs", e.Name, op.Ef, op.Recall, quantile(lat, 0.5), quantile(lat, 0.99))
		if e.Name == "hnswlib" {
			label += ", calls from Python"
		}
		p.Legend.Add(label, l)
	}
	return p, nil
}

// quantile of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
