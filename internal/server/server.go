// Package server is flowguard's HTTP service (flowguard serve): a versioned
// JSON API under /v1 described by an OpenAPI 3.1 document, flow scoring,
// asynchronous pcap jobs, alert queries and live alert streams, a model
// registry with hot activation, drop-in endpoints for the four predecessor
// projects' clients, health probes and Prometheus metrics.
//
// New builds everything and starts nothing; Run listens, resumes the jobs an
// earlier process left behind, and shuts down gracefully when its context
// ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/events"
	"github.com/flowguard/flowguard/internal/model"
	"github.com/flowguard/flowguard/internal/sniff"
	"github.com/flowguard/flowguard/internal/store"
)

// Config is the service's configuration. Zero limits take the defaults
// noted.
type Config struct {
	Listen    string // default 127.0.0.1:8080
	StoreURL  string // sqlite:PATH, a path, or postgres://…; default sqlite:flowguard.db
	ModelPath string // "" serves the embedded default model (unless the store has an active one)
	SpoolDir  string // uploads, models and job results; default ./flowguard-spool

	Token  string // bearer token for mutating endpoints and streams
	NoAuth bool   // serve without a token (the CLI warns)

	MaxBodyBytes  int64   // predict and compat bodies; default 64 MiB
	MaxPcapBytes  int64   // pcap uploads; default 1 GiB
	MaxModelBytes int64   // model uploads; default 256 MiB
	RateLimit     float64 // requests per second per client address; 0 means 5000, <0 none
	RateBurst     int     // default 2×RateLimit

	Workers int // concurrent pcap jobs; default 1

	EVEPath  string   // append alerts to this EVE JSON file
	Webhooks []string // POST alerts to these URLs

	ReadHeaderTimeout time.Duration // default 10 s
	ReadTimeout       time.Duration // whole request including body; default 10 min (pcap uploads)
	WriteTimeout      time.Duration // default 2 min; streams are exempt
	IdleTimeout       time.Duration // default 2 min
	ShutdownTimeout   time.Duration // default 30 s

	// Interface, when set, runs live detection on that network interface
	// with the active model (serve --interface); Capture holds the
	// capture and pipeline settings (its Interface and detector are
	// filled in).
	Interface string
	Capture   sniff.Config

	// AnomalyModel, when set, is a flow anomaly model (train --algo
	// iforest) scored beside the active model in pcap jobs (serve
	// --anomaly-model); AnomalyModelName names it in alerts.
	AnomalyModel     *model.Artifact
	AnomalyModelName string

	// EventsModel serves ML-PT's POST /predict (LoadEventsModel); nil
	// answers 503.
	EventsModel *events.Model
}

func (c *Config) defaults() {
	setDef(&c.Listen, "127.0.0.1:8080")
	setDef(&c.StoreURL, "sqlite:flowguard.db")
	setDef(&c.SpoolDir, "flowguard-spool")
	setDef(&c.MaxBodyBytes, 64<<20)
	setDef(&c.MaxPcapBytes, 1<<30)
	setDef(&c.MaxModelBytes, 256<<20)
	setDef(&c.RateLimit, 5000)
	setDef(&c.RateBurst, int(2*max(c.RateLimit, 1)))
	setDef(&c.Workers, 1)
	setDef(&c.ReadHeaderTimeout, 10*time.Second)
	setDef(&c.ReadTimeout, 10*time.Minute)
	setDef(&c.WriteTimeout, 2*time.Minute)
	setDef(&c.IdleTimeout, 2*time.Minute)
	setDef(&c.ShutdownTimeout, 30*time.Second)
}

func setDef[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Deps are the collaborators a caller may supply; nil fields are built
// from Config.
type Deps struct {
	Log      *slog.Logger
	Store    *store.Store         // opened from Config.StoreURL when nil; Run closes it either way
	Registry *prometheus.Registry // a fresh one when nil
}

// Server is the assembled service.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	models  *models
	broker  *alert.Broker
	metrics *metrics
	jobs    *jobs
	live    *live
	reg     *prometheus.Registry
	api     huma.API
	handler http.Handler

	ln     net.Listener
	lnOnce sync.Once
}

// New validates cfg, opens the store, loads the active model and builds
// the routes. It starts no goroutine and listens on nothing.
func New(ctx context.Context, cfg Config, deps Deps) (*Server, error) {
	cfg.defaults()
	if !cfg.NoAuth && cfg.Token == "" {
		return nil, errors.New("server: no bearer token: set one, or disable auth explicitly")
	}
	for _, u := range cfg.Webhooks {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("server: webhook %q: want an http(s) URL", u)
		}
	}
	if err := os.MkdirAll(filepath.Join(cfg.SpoolDir, "models"), 0o750); err != nil {
		return nil, fmt.Errorf("server: spool dir: %w", err)
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := deps.Store
	if st == nil {
		var err error
		if st, err = store.Open(ctx, cfg.StoreURL); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, log: log, store: st, broker: alert.NewBroker(0), reg: reg}
	s.metrics = newMetrics(reg)
	var err error
	if s.models, err = newModels(ctx, st, cfg, s.metrics); err != nil {
		st.Close()
		return nil, fmt.Errorf("server: %w", err)
	}
	s.jobs = newJobs(s)
	s.routes(reg)
	return s, nil
}

// Handler is the service's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the listening socket now, so a caller can learn the address
// (Addr) before Run; Run listens itself otherwise.
func (s *Server) Listen() error {
	var err error
	s.lnOnce.Do(func() { s.ln, err = net.Listen("tcp", s.cfg.Listen) })
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", s.cfg.Listen, err)
	}
	return nil
}

// Addr is the bound address, after Listen.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Listen
	}
	return s.ln.Addr().String()
}

// Run serves until ctx ends, then shuts down: stops accepting requests,
// ends the alert streams, lets running jobs finish (for at most
// ShutdownTimeout; an unfinished job stays running in the store and is
// resumed by the next start), flushes the alert sinks and closes the store.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		s.store.Close()
		return err
	}
	fan, err := s.sinks()
	if err != nil {
		s.ln.Close()
		s.store.Close()
		return err
	}
	s.jobs.fan = fan
	liveDone := make(chan struct{})
	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	if s.cfg.Interface == "" {
		close(liveDone)
	} else {
		s.live = &live{s: s}
		sn, err := s.live.open(s.models.current(), fan)
		if err != nil {
			s.ln.Close()
			fan.Close()
			s.store.Close()
			return err
		}
		s.reg.MustRegister(s.live)
		s.log.Info("live detection", "interface", s.cfg.Interface, "filter", s.cfg.Capture.Filter)
		go func() {
			defer close(liveDone)
			if err := s.live.run(liveCtx, sn, fan); err != nil {
				s.log.Error("live capture failed; the API goes on without it", "interface", s.cfg.Interface, "err", err)
			}
		}()
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	jobCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	if err := s.jobs.start(jobCtx); err != nil {
		s.ln.Close()
		fan.Close()
		s.store.Close()
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(s.ln) }()
	s.log.Info("serving", "addr", s.Addr())

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	s.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// Streams do not end on Shutdown: closing the broker ends them.
	s.broker.Close()
	if e := srv.Shutdown(shutCtx); e != nil {
		srv.Close()
	}
	s.jobs.drain(shutCtx, stopJobs)
	// The live capture ends its open flows and sends their alerts before
	// the sinks close.
	stopLive()
	<-liveDone
	var errs []error
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("server: serve: %w", err))
	}
	if e := fan.Close(); e != nil {
		errs = append(errs, e)
	}
	if e := s.store.Close(); e != nil {
		errs = append(errs, fmt.Errorf("server: close store: %w", e))
	}
	return errors.Join(errs...)
}

// Close releases what New opened, for a server that never ran (--check).
func (s *Server) Close() error { return s.store.Close() }

// sinks builds the alert fan-out behind the store: the live broker, the
// EVE file and the webhooks. The store itself is written before the
// fan-out (see jobSink), so an alert any client saw is always stored.
func (s *Server) sinks() (*alert.Fanout, error) {
	var routes []alert.Route
	if s.cfg.EVEPath != "" {
		f, err := alert.OpenEVEFile(s.cfg.EVEPath, false)
		if err != nil {
			return nil, fmt.Errorf("server: eve file: %w", err)
		}
		routes = append(routes, alert.Route{Name: "eve", Sink: f, Lossless: true})
	}
	// On a bad webhook the file closes; the broker outlives a failed
	// start, so it joins last.
	routes, err := alert.AddWebhooks(routes, s.cfg.Webhooks)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	routes = append([]alert.Route{{Name: "broker", Sink: s.broker}}, routes...)
	return alert.NewFanout(s.log, 0, routes...), nil
}

// Config is the effective configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// ModelID is the active model's registry ID.
func (s *Server) ModelID() string { return s.models.current().id }
