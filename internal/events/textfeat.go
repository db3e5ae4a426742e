package events

import (
	"math"
	"net/netip"
	"strings"
)

// docText builds the text the n-gram and token blocks see: decoded,
// lower-cased path, query, body and WAF-matched value, separated by
// spaces. Digits fold to '0' (unless keepDigits) because the exact digits
// of ids, prices and phone numbers are noise for anomaly detection, while
// their shape is not.
type docParts struct {
	path, query, body, matched string // decoded, original case
	rounds                     int    // most percent rounds any part needed
}

func decodeParts(e *Event, html bool) docParts {
	var d docParts
	var r int
	d.path, r = DecodeRounds(e.Path, false, html)
	d.rounds = max(d.rounds, r)
	d.query, r = DecodeRounds(e.Query, true, html)
	d.rounds = max(d.rounds, r)
	form := e.ContentType == "" || strings.Contains(strings.ToLower(e.ContentType), "form-urlencoded")
	d.body, r = DecodeRounds(e.Body, form, html)
	d.rounds = max(d.rounds, r)
	if e.MatchedValue != "" && e.MatchedValue != e.Body && e.MatchedValue != e.Query &&
		!strings.Contains(e.Path+"?"+e.Query, e.MatchedValue) {
		d.matched, r = DecodeRounds(e.MatchedValue, false, html)
		d.rounds = max(d.rounds, r)
	}
	return d
}

// normText appends the lower-cased, digit-folded text of the parts to dst.
func normText(dst []byte, d *docParts, keepDigits bool) []byte {
	add := func(s string) {
		if s == "" {
			return
		}
		if len(dst) > 0 {
			dst = append(dst, ' ')
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= '1' && c <= '9' && !keepDigits:
				c = '0'
			}
			dst = append(dst, c)
		}
	}
	add(d.path)
	add(d.query)
	add(d.body)
	add(d.matched)
	return dst
}

// Structural feature names, in vector order.
var structNames = []string{
	"log_len_path", "log_len_query", "log_len_body", "log_len_text",
	"entropy", "digit_ratio", "letter_ratio", "upper_ratio", "special_ratio", "nonascii_ratio", "space_ratio",
	"log_params", "log_max_param_len", "log_path_depth", "decode_rounds", "log_pct_escapes",
	"n_squote", "n_dquote", "n_lt", "n_gt", "n_dashdash", "n_semicolon", "n_dotdotslash", "n_nul",
	"n_paren", "n_equals", "max_special_run",
	"kw_sql", "kw_shell", "kw_script", "kw_traversal", "kw_file_ext",
	"log_ua_len", "ua_tool", "ua_missing", "ip_private", "ip_public", "ip_v6", "ip_missing",
	"log_cookie_len", "ct_form", "ct_other", "method_get", "method_post", "method_other",
	"resp_class", "log_request_size",
}

var (
	kwSQL = []string{"union", "select", "insert", "update ", "delete ", "drop ", "from ", "where ",
		" or ", " and ", "1=1", "'='", "sleep(", "benchmark(", "waitfor", "concat(", "char(",
		"information_schema", "@@", "order by", "having", "/*", "*/", "xp_", "exec(", "cast(", "null"}
	kwShell = []string{";", "|", "$(", "`", "/bin/", "cmd.exe", "wget ", "curl ", "cat ", "&&",
		"uname", "whoami", "nc ", "ping ", "/usr/", "echo ", "${"}
	kwScript = []string{"<script", "</script", "onerror", "onload", "onmouse", "javascript:", "vbscript:",
		"alert(", "prompt(", "confirm(", "document.", "<iframe", "<img", "<svg", "eval(", "src=", "<body", "style="}
	kwTraversal = []string{"../", "..\\", "/etc/", "boot.ini", "win.ini", "/proc/", "passwd", "c:\\", "file:"}
	kwFileExt   = []string{".bak", ".old", ".inc", ".cfg", ".conf", ".ini", ".log", ".sql", ".exe", ".sh",
		".php", ".asp", ".cgi", ".pl", ".py", ".git", ".svn", ".htaccess", ".tmp", "~"}
	uaTools = []string{"sqlmap", "nikto", "nmap", "masscan", "zgrab", "curl", "wget", "python-requests",
		"python-urllib", "go-http-client", "libwww-perl", "java/", "okhttp", "httpclient", "dirbuster",
		"gobuster", "wfuzz", "acunetix", "nessus", "openvas", "w3af", "burp", "zap", "hydra", "scanner", "bot"}
)

func countAny(s string, kws []string) float64 {
	n := 0
	for _, k := range kws {
		n += strings.Count(s, k)
	}
	return float64(n)
}

func log1p(x float64) float64 { return math.Log1p(math.Max(x, 0)) }

// structFeatures writes len(structNames) values for e into dst. lower is
// the lower-cased (digit-folded) document text; raw parts are in d.
func structFeatures(dst []float64, e *Event, d *docParts, lower []byte) {
	text := d.path + d.query + d.body + d.matched
	n := float64(len(text))
	var counts [256]int
	var digits, letters, upper, special, nonASCII, spaces, run, maxRun int
	for i := 0; i < len(text); i++ {
		c := text[i]
		counts[c]++
		switch {
		case c >= '0' && c <= '9':
			digits++
			run = 0
		case c >= 'a' && c <= 'z':
			letters++
			run = 0
		case c >= 'A' && c <= 'Z':
			letters++
			upper++
			run = 0
		case c >= 0x80:
			nonASCII++
			run = 0
		case c == ' ':
			spaces++
			run = 0
		default:
			special++
			run++
			maxRun = max(maxRun, run)
		}
	}
	var ent float64
	if n > 0 {
		for _, k := range counts {
			if k > 0 {
				p := float64(k) / n
				ent -= p * math.Log2(p)
			}
		}
	}
	ratio := func(k int) float64 {
		if n == 0 {
			return 0
		}
		return float64(k) / n
	}
	// Parameters of the query and (form) body.
	params, maxParam := 0, 0
	for _, s := range [2]string{e.Query, e.Body} {
		if s == "" {
			continue
		}
		for kv := range strings.SplitSeq(s, "&") {
			if kv == "" {
				continue
			}
			params++
			if _, v, ok := strings.Cut(kv, "="); ok {
				maxParam = max(maxParam, len(v))
			} else {
				maxParam = max(maxParam, len(kv))
			}
		}
	}
	depth := strings.Count(d.path, "/")
	l := string(lower)
	pct := strings.Count(e.Path, "%") + strings.Count(e.Query, "%") + strings.Count(e.Body, "%")
	nul := strings.Count(text, "\x00")

	ua := strings.ToLower(e.UserAgent)
	var uaTool float64
	for _, t := range uaTools {
		if strings.Contains(ua, t) {
			uaTool = 1
			break
		}
	}
	var ipPriv, ipPub, ip6, ipMissing float64
	if a, err := netip.ParseAddr(strings.Trim(e.ClientIP, "[]")); err == nil {
		a = a.Unmap()
		if a.Is6() {
			ip6 = 1
		}
		if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
			ipPriv = 1
		} else {
			ipPub = 1
		}
	} else {
		ipMissing = 1
	}
	ct := strings.ToLower(e.ContentType)
	var ctForm, ctOther float64
	if strings.Contains(ct, "form-urlencoded") {
		ctForm = 1
	} else if ct != "" {
		ctOther = 1
	}
	var mGet, mPost, mOther float64
	switch e.Method {
	case "GET", "":
		mGet = 1
	case "POST":
		mPost = 1
	default:
		mOther = 1
	}
	v := [...]float64{
		log1p(float64(len(e.Path))), log1p(float64(len(e.Query))), log1p(float64(len(e.Body))), log1p(n),
		ent, ratio(digits), ratio(letters), ratio(upper), ratio(special), ratio(nonASCII), ratio(spaces),
		log1p(float64(params)), log1p(float64(maxParam)), log1p(float64(depth)), float64(d.rounds), log1p(float64(pct)),
		log1p(float64(counts['\''])), log1p(float64(counts['"'])), log1p(float64(counts['<'])), log1p(float64(counts['>'])),
		log1p(float64(strings.Count(text, "--"))), log1p(float64(counts[';'])), log1p(float64(strings.Count(text, "../") + strings.Count(text, `..\`))),
		log1p(float64(nul)), log1p(float64(counts['('] + counts[')'])), log1p(float64(counts['='])), log1p(float64(maxRun)),
		log1p(countAny(l, kwSQL)), log1p(countAny(l, kwShell)), log1p(countAny(l, kwScript)), log1p(countAny(l, kwTraversal)),
		log1p(countAny(strings.ToLower(d.path), kwFileExt)),
		log1p(float64(len(e.UserAgent))), uaTool, b2f(e.UserAgent == ""), ipPriv, ipPub, ip6, ipMissing,
		log1p(float64(e.CookieLen)), ctForm, ctOther, mGet, mPost, mOther,
		float64(e.ResponseCode / 100), log1p(float64(e.RequestSize)),
	}
	copy(dst, v[:])
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
