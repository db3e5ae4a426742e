package server

import (
	"strings"

	"github.com/flowguard/flowguard/internal/dataset"
)

// canon maps every way a client may name a flow feature to its canonical
// ID: the ID itself, its name in each CICFlowMeter dialect (case and
// spacing ignored), and ml-ids's snake_case of those names.
var canon = func() map[string]string {
	m := map[string]string{}
	add := func(k, id string) {
		if _, ok := m[k]; !ok && k != "" {
			m[k] = id
		}
	}
	cols := dataset.Columns()
	for _, c := range cols {
		add(c.ID, c.ID)
	}
	for _, c := range cols {
		for _, names := range c.Names {
			for _, n := range names {
				add(normName(n), c.ID)
				add(snake(n), c.ID)
			}
		}
	}
	return m
}()

// canonicalID returns the canonical ID a column name denotes.
func canonicalID(name string) (string, bool) {
	if id, ok := canon[name]; ok {
		return id, true
	}
	id, ok := canon[normName(name)]
	if !ok {
		id, ok = canon[snake(name)]
	}
	return id, ok
}

func normName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// snake is ml-ids's renaming: lower case, every non-word character "_".
func snake(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, strings.TrimSpace(s))
}

// featureIndex maps the columns a request names to the model's feature
// positions, remembering each distinct name: requests repeat the same few
// dozen keys on every row.
type featureIndex struct {
	features []string
	byID     map[string]int // canonical ID → model feature position
	cache    map[string]int // request name → feature position, -1 for none
}

func newFeatureIndex(features []string) *featureIndex {
	fi := &featureIndex{features: features, byID: make(map[string]int, len(features)), cache: make(map[string]int, len(features)*2)}
	for i, f := range features {
		fi.byID[f] = i
	}
	return fi
}

// lookup returns the feature position of name, or -1. The map lookup by
// string(b) does not allocate; only a new name is copied.
func (fi *featureIndex) lookup(b []byte) int {
	if i, ok := fi.cache[string(b)]; ok {
		return i
	}
	name := string(b)
	i := -1
	if j, ok := fi.byID[name]; ok {
		i = j
	} else if id, ok := canonicalID(name); ok {
		if j, ok := fi.byID[id]; ok {
			i = j
		}
	}
	fi.cache[name] = i
	return i
}
