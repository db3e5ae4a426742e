// Package events turns HTTP security events from the formats flowguard
// meets in the field into one normalised Event, and turns Events into
// fixed-length numeric vectors for the unsupervised models.
//
// Inputs, each a streaming Reader with bounded memory and positioned
// errors (never a panic): ML-PT WAF events (JSON with Python's bare NaN
// tokens), raw HTTP requests as in CSIC 2010, Apache/nginx combined access
// logs, ModSecurity audit logs (JSON and native A–Z sections), and CSV or
// one-URL-per-line files through a column mapping. Detect guesses a format
// from the first kilobyte; Open adds gzip.
//
// Featurization (Featurizer, Features) decodes URLs and payloads
// canonically, hashes character n-grams and tokens into TF-IDF blocks,
// adds structural, IP and user-agent features, then standardises and
// projects with a truncated SVD fitted on the *scaled* fit set. Everything
// learned lives in the plain-data Features model (JSON round trip), so
// scoring applies exactly what fitting learned — unlike ML-PT, whose PCA
// was fitted on unscaled data and applied to scaled data.
package events
