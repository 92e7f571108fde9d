package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quarrylabs/quarry/store"
)

// metrics is the server's Prometheus registry (its own, not the global
// one, so two servers in one process do not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics(db *store.DB) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "quarry_http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "quarry_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route"})
	m.reg.MustRegister(m.requests, m.duration, &storeCollector{db: db},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// observe records one answered request.
func (m *metrics) observe(route, method string, status int, d time.Duration) {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodOptions:
	default:
		method = "other" // a label value per invented method would grow without bound
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// storeCollector reads the DB's state at each scrape: vector stores, files
// by status and bytes used.
type storeCollector struct{ db *store.DB }

var (
	descStores = prometheus.NewDesc("quarry_vector_stores", "Vector stores in the DB.", nil, nil)
	descFiles  = prometheus.NewDesc("quarry_files", "Vector-store files by status.", []string{"status"}, nil)
	descBytes  = prometheus.NewDesc("quarry_usage_bytes", "Bytes used by the vector stores' files.", nil, nil)
	descUp     = prometheus.NewDesc("quarry_store_up", "1 when the DB answered the scrape, 0 when it did not (closed, or an error).", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descStores
	ch <- descFiles
	ch <- descBytes
	ch <- descUp
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	var counts store.FileCounts
	var bytes int64
	all, err := c.db.VectorStores(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	for _, vs := range all {
		n++
		bytes += vs.UsageBytes
		fc := vs.FileCounts
		counts.InProgress += fc.InProgress
		counts.Completed += fc.Completed
		counts.Failed += fc.Failed
		counts.Cancelled += fc.Cancelled
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descStores, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(bytes))
	for status, v := range map[store.FileStatus]int{
		store.StatusInProgress: counts.InProgress, store.StatusCompleted: counts.Completed,
		store.StatusFailed: counts.Failed, store.StatusCancelled: counts.Cancelled,
	} {
		ch <- prometheus.MustNewConstMetric(descFiles, prometheus.GaugeValue, float64(v), string(status))
	}
}
