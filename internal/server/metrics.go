package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the flowguard_server_* series /metrics exports.
type metrics struct {
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	flowsScored  *prometheus.CounterVec
	alerts       *prometheus.CounterVec
	modelVersion *prometheus.GaugeVec
	jobs         *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowguard_server_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flowguard_server_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			// Scoring answers in well under a millisecond; uploads take
			// seconds: the buckets span both.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		flowsScored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowguard_server_flows_scored_total", Help: "Flows scored, by source (predict, compat, job).",
		}, []string{"source"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowguard_server_alerts_total", Help: "Alerts raised by pcap jobs and live capture, by class.",
		}, []string{"class"}),
		modelVersion: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flowguard_server_model_info", Help: "1 for the active model, labelled with its ID and version.",
		}, []string{"id", "algorithm", "version"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowguard_server_jobs_total", Help: "pcap jobs finished, by final state.",
		}, []string{"state"}),
	}
	reg.MustRegister(m.requests, m.latency, m.flowsScored, m.alerts, m.modelVersion, m.jobs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
