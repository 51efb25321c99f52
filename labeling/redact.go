package labeling

import (
	"math/big"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// RedactConfig turns each kind of personal data on or off.
type RedactConfig struct {
	Emails bool `yaml:"emails" json:"emails"`
	Phones bool `yaml:"phones" json:"phones"`
	Cards  bool `yaml:"cards" json:"cards"`
	IBANs  bool `yaml:"ibans" json:"ibans"`
	SSNs   bool `yaml:"ssns" json:"ssns"`
	IPs    bool `yaml:"ips" json:"ips"`
}

// AllRedactions turns every kind on.
func AllRedactions() RedactConfig {
	return RedactConfig{Emails: true, Phones: true, Cards: true, IBANs: true, SSNs: true, IPs: true}
}

// Redactor replaces personal data with [EMAIL], [PHONE], [CARD], [IBAN], [SSN] and [IP]
// before any text reaches a human labeler. Candidates are found by pattern and then
// checked (Luhn for cards, mod 97 for IBANs, the SSA's rules for SSNs, a real address for
// IPs), so that ordinary numbers survive.
type Redactor struct {
	cfg  RedactConfig
	kind []redactKind
}

type redactKind struct {
	name  string
	re    *regexp.Regexp
	valid func(string) bool
}

// NewRedactor compiles the patterns for the kinds turned on.
func NewRedactor(cfg RedactConfig) *Redactor {
	r := &Redactor{cfg: cfg}
	add := func(on bool, name, pattern string, valid func(string) bool) {
		if on {
			r.kind = append(r.kind, redactKind{name, regexp.MustCompile(pattern), valid})
		}
	}
	// order matters: the more specific kinds claim their spans first
	add(cfg.Emails, "EMAIL", `(?i)\b[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}\b`, nil)
	add(cfg.IBANs, "IBAN", `\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b`, validIBAN)
	add(cfg.Cards, "CARD", `\b(?:[0-9][ \-]?){12,18}[0-9]\b`, validCard)
	add(cfg.SSNs, "SSN", `\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b`, validSSN)
	add(cfg.IPs, "IP", `(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:\.[0-9]{1,3}){0,3}`, validIP)
	add(cfg.IPs, "IP", `\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b`, validIP)
	add(cfg.Phones, "PHONE", `(?:\+[1-9][0-9]{0,2}[ .\-]?)?(?:\([0-9]{2,4}\)[ .\-]?)?[0-9]{2,4}(?:[ .\-][0-9]{2,4}){1,4}\b`, validPhone)
	return r
}

// Redacted is what redaction removed: counts per kind.
type Redacted map[string]int

// Redact returns text with every match replaced and what was replaced.
func (r *Redactor) Redact(text string) (string, Redacted) {
	type span struct {
		a, b int
		kind string
	}
	var spans []span
	taken := func(a, b int) bool {
		for _, s := range spans {
			if a < s.b && s.a < b {
				return true
			}
		}
		return false
	}
	for _, k := range r.kind {
		for _, m := range k.re.FindAllStringIndex(text, -1) {
			if taken(m[0], m[1]) {
				continue
			}
			if k.valid != nil && !k.valid(text[m[0]:m[1]]) {
				continue
			}
			spans = append(spans, span{m[0], m[1], k.name})
		}
	}
	if len(spans) == 0 {
		return text, nil
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].a < spans[j].a })
	var b strings.Builder
	found := Redacted{}
	at := 0
	for _, s := range spans {
		b.WriteString(text[at:s.a])
		b.WriteString("[" + s.kind + "]")
		found[strings.ToLower(s.kind)]++
		at = s.b
	}
	b.WriteString(text[at:])
	return b.String(), found
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// validCard is the Luhn check over 13 to 19 digits.
func validCard(s string) bool {
	d := digits(s)
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// validIBAN checks the length and the ISO 13616 mod-97 check digits.
func validIBAN(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	moved := s[4:] + s[:4]
	var num strings.Builder
	for _, c := range moved {
		switch {
		case c >= '0' && c <= '9':
			num.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			num.WriteString(big.NewInt(int64(c - 'A' + 10)).String())
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(num.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// validSSN rejects numbers the SSA never issues (area 000, 666, 900-999; group 00;
// serial 0000).
func validSSN(s string) bool {
	area, group, serial := s[0:3], s[4:6], s[7:11]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

func validIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && (a.Is4() || a.Is6())
}

// validPhone wants 7 to 15 digits (E.164) and, without a leading +, separators between
// groups, so that years, version numbers and counts are left alone.
func validPhone(s string) bool {
	d := digits(s)
	if len(d) < 7 || len(d) > 15 {
		return false
	}
	if strings.HasPrefix(s, "+") || strings.Contains(s, "(") {
		return true
	}
	return !strings.Contains(s, ".") && strings.Count(s, "-")+strings.Count(s, " ") >= 2
}
