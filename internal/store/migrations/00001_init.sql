-- The one schema for SQLite and PostgreSQL. Only types both read the same
-- way: times are Unix nanoseconds in BIGINT (exact, and ordered and compared
-- identically by both), JSON is TEXT (kept byte for byte), and a zero time
-- is stored as 0.

-- +goose Up
CREATE TABLE alerts (
	id       TEXT PRIMARY KEY,
	ts_ns    BIGINT NOT NULL,
	src_ip   TEXT NOT NULL,
	dest_ip  TEXT NOT NULL,
	class    TEXT NOT NULL,
	kind     TEXT NOT NULL,
	severity INTEGER NOT NULL,
	job      TEXT NOT NULL,
	data     TEXT NOT NULL
);
-- Every query pages newest first on (ts_ns, id); each filter column leads an
-- index that continues with that order, so a filtered page is an index range
-- scan, not a sort. A host matches src_ip or dest_ip: two indexes, OR-ed.
CREATE INDEX alerts_time ON alerts (ts_ns, id);
CREATE INDEX alerts_class ON alerts (class, ts_ns, id);
CREATE INDEX alerts_src ON alerts (src_ip, ts_ns, id);
CREATE INDEX alerts_dest ON alerts (dest_ip, ts_ns, id);
CREATE INDEX alerts_severity ON alerts (severity, ts_ns, id);
CREATE INDEX alerts_kind ON alerts (kind, ts_ns, id);
CREATE INDEX alerts_job ON alerts (job, ts_ns, id);

CREATE TABLE jobs (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
	created_ns   BIGINT NOT NULL,
	started_ns   BIGINT NOT NULL,
	finished_ns  BIGINT NOT NULL,
	input_path   TEXT NOT NULL,
	input_name   TEXT NOT NULL,
	input_size   BIGINT NOT NULL,
	input_sha256 TEXT NOT NULL,
	model        TEXT NOT NULL,
	progress     DOUBLE PRECISION NOT NULL,
	packets      BIGINT NOT NULL,
	flows        BIGINT NOT NULL,
	alerts       BIGINT NOT NULL,
	attempts     INTEGER NOT NULL,
	error        TEXT NOT NULL,
	-- rev is bumped by every update: UpdateJob writes only the revision it
	-- read, so concurrent updates never overwrite each other unseen.
	rev          BIGINT NOT NULL
);
CREATE INDEX jobs_created ON jobs (created_ns, id);
CREATE INDEX jobs_state ON jobs (state, created_ns, id);

CREATE TABLE models (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	algorithm  TEXT NOT NULL,
	created_ns BIGINT NOT NULL,
	sha256     TEXT NOT NULL,
	path       TEXT NOT NULL,
	metrics    TEXT NOT NULL
);
-- The active model is the one row of active_model, so "exactly one active"
-- holds by construction instead of by a flag every activation must flip.
CREATE TABLE active_model (
	slot         INTEGER PRIMARY KEY CHECK (slot = 1),
	model_id     TEXT NOT NULL REFERENCES models (id),
	activated_ns BIGINT NOT NULL
);

CREATE TABLE runs (
	id         TEXT PRIMARY KEY,
	started_ns BIGINT NOT NULL,
	algorithm  TEXT NOT NULL,
	model      TEXT NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX runs_started ON runs (started_ns, id);

-- +goose Down
DROP TABLE runs;
DROP TABLE active_model;
DROP TABLE models;
DROP TABLE jobs;
DROP TABLE alerts;
