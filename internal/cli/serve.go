package cli

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/server"
)

func newServeCmd(e *env) *cobra.Command {
	var cfg server.Config
	var check bool
	var eventsModel, anomalyModel string
	var lf liveFlags
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--model MODEL] [--store sqlite:PATH|postgres://...] [--interface IFACE]",
		Short: "Run the HTTP API: flow scoring, pcap jobs, alerts, models, drop-in predecessor endpoints",
		Long: `Serves the versioned JSON API under /v1 (OpenAPI 3.1 at /v1/openapi.json),
the predecessors' drop-in endpoints, /healthz, /readyz and Prometheus /metrics.
Needs no external service: the store defaults to an SQLite file and the model
to the embedded default. Mutating endpoints want "Authorization: Bearer TOKEN"
(--token or FLOWGUARD_TOKEN); --insecure-no-auth serves without.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(e.stderr, nil))
			if cfg.Token == "" {
				cfg.Token = os.Getenv("FLOWGUARD_TOKEN")
			}
			if cfg.NoAuth {
				cfg.Token = ""
				log.Warn("authentication disabled (--insecure-no-auth): anyone who reaches the port can upload, activate models and read alerts")
			} else if cfg.Token == "" {
				return fmt.Errorf("serve: no bearer token: pass --token or set FLOWGUARD_TOKEN (or --insecure-no-auth)")
			}
			if anomalyModel != "" {
				a, err := loadAnomalyModel(anomalyModel)
				if err != nil {
					return fmt.Errorf("serve: %w", err)
				}
				cfg.AnomalyModel, cfg.AnomalyModelName = a, anomalyModel
			}
			if eventsModel != "" {
				var err error
				if cfg.EventsModel, err = server.LoadEventsModel(eventsModel); err != nil {
					return fmt.Errorf("serve: %w", err)
				}
			}
			cfg.Capture = lf.config("", detect.Config{})
			ctx := cmd.Context()
			srv, err := server.New(ctx, cfg, server.Deps{Log: log})
			if err != nil {
				return err
			}
			eff := srv.Config()
			log.Info("flowguard serve", "listen", eff.Listen, "store", eff.StoreURL, "model", srv.ModelID(),
				"spool", eff.SpoolDir, "auth", !eff.NoAuth, "workers", eff.Workers, "max_body", eff.MaxBodyBytes,
				"max_pcap", eff.MaxPcapBytes, "rate_limit", eff.RateLimit, "eve", eff.EVEPath, "webhooks", len(eff.Webhooks))
			if check {
				fmt.Fprintln(e.stdout, "flowguard serve: configuration OK")
				return srv.Close()
			}
			return srv.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&cfg.StoreURL, "store", "sqlite:flowguard.db", "store: sqlite:PATH or postgres://...")
	f.StringVar(&cfg.ModelPath, "model", "", "model file to serve (default: the store's active model, else the embedded one)")
	f.StringVar(&cfg.SpoolDir, "spool", "flowguard-spool", "directory for uploads, uploaded models and job results")
	f.StringVar(&cfg.Token, "token", "", "bearer token for mutating endpoints (default $FLOWGUARD_TOKEN)")
	f.BoolVar(&cfg.NoAuth, "insecure-no-auth", false, "serve without authentication")
	f.StringVar(&cfg.EVEPath, "eve", "", "also append alerts to this EVE JSON file")
	f.StringArrayVar(&cfg.Webhooks, "webhook", nil, "also POST alerts to this URL (repeatable)")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body", 64<<20, "largest predict/compat request body, bytes")
	f.Int64Var(&cfg.MaxPcapBytes, "max-pcap", 1<<30, "largest pcap upload, bytes")
	f.Float64Var(&cfg.RateLimit, "rate-limit", 5000, "requests per second per client address (negative: no limit)")
	f.IntVar(&cfg.Workers, "workers", 1, "pcap jobs run at once")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long shutdown waits for running jobs")
	f.StringVar(&anomalyModel, "anomaly-model", "", "flow anomaly model (train --algo iforest) scored beside the active model in pcap jobs")
	f.StringVar(&eventsModel, "events-model", "", "events model (flowguard events fit --algo dbscan|hdbscan) serving ML-PT's POST /predict")
	f.StringVarP(&cfg.Interface, "interface", "i", "", "also detect live on this network interface (AF_PACKET; root or CAP_NET_RAW): alerts go to the store, the streams, --eve and --webhook")
	f.BoolVar(&check, "check", false, "build everything (store, model, routes), print the configuration and exit")
	lf.register(cmd, "with --interface: ")
	return cmd
}
