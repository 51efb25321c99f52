package labeling

import (
	"math/big"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// RedactConfig turns each kind of personal data on or off.
type RedactConfig struct {
	Emails bool `yaml:"emails" json:"emails" doc:"email addresses"`
	Phones bool `yaml:"phones" json:"phones" doc:"phone numbers"`
	Cards  bool `yaml:"cards" json:"cards" doc:"payment card numbers (Luhn-checked)"`
	IBANs  bool `yaml:"ibans" json:"ibans" doc:"IBANs (mod-97 checked)"`
	SSNs   bool `yaml:"ssns" json:"ssns" doc:"US social security numbers"`
	IPs    bool `yaml:"ips" json:"ips" doc:"IPv4 and IPv6 addresses"`
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

// sep is a separator between groups of digits: space, tab, dot, slash, ASCII hyphen or
// one of the Unicode dashes (U+2010 to U+2015), as people and word processors type them.
const sep = `[ \t./\-\x{2010}-\x{2015}]`

// NewRedactor compiles the patterns for the kinds turned on.
func NewRedactor(cfg RedactConfig) *Redactor {
	r := &Redactor{cfg: cfg}
	add := func(on bool, name, pattern string, valid func(string) bool) {
		if on {
			r.kind = append(r.kind, redactKind{name, regexp.MustCompile(pattern), valid})
		}
	}
	// order matters: the more specific kinds claim their spans first
	add(cfg.Emails, "EMAIL", `[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}`, nil)
	add(cfg.IBANs, "IBAN", `(?i)\b[a-z]{2}[0-9]{2}(?:[ \-]?[a-z0-9]{4}){2,7}(?:[ \-]?[a-z0-9]{1,4})?\b`, validIBAN)
	// a card number may be cut by a line break too (text wrapped in a form or a mail)
	add(cfg.Cards, "CARD", `\b(?:[0-9](?:`+sep+`|\n)?){12,18}[0-9]\b`, validCard)
	add(cfg.SSNs, "SSN", `\b[0-9]{3}[ .\-]?[0-9]{2}[ .\-]?[0-9]{4}\b`, validSSN)
	add(cfg.IPs, "IP", `(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:\.[0-9]{1,3}){0,3}`, validIP)
	add(cfg.IPs, "IP", `\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b`, validIP)
	add(cfg.Phones, "PHONE", `(?:\+[1-9][0-9]{0,2}`+sep+`?)?(?:\([0-9]{2,5}\)`+sep+`?)?[0-9]{2,5}(?:`+sep+`[0-9]{2,5}){0,4}\b`, validPhone)
	add(cfg.Phones, "PHONE", `\b0[0-9]{1,4}/[0-9]{4,9}\b`, validPhone) // 030/1234567
	add(cfg.Phones, "PHONE", `\b[0-9]{10,11}\b`, validPhone)           // 5551234567
	return r
}

// Redacted is what redaction removed: counts per kind.
type Redacted map[string]int

// Redact returns text with every match replaced and what was replaced.
func (r *Redactor) Redact(text string) (string, Redacted) {
	return r.RedactWithin("", text, "")
}

// RedactWithin redacts text as it stands between before and after in its document: a
// number or address cut by a chunk boundary is found in the joined text, and the part of
// it inside text is replaced. Only text is returned.
func (r *Redactor) RedactWithin(before, text, after string) (string, Redacted) {
	type span struct {
		a, b int
		kind string
	}
	full := text
	if before != "" || after != "" {
		full = before + text + after
	}
	lo, hi := len(before), len(before)+len(text)
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
		for _, m := range k.re.FindAllStringIndex(full, -1) {
			if m[1] <= lo || m[0] >= hi || taken(m[0], m[1]) {
				continue
			}
			if k.valid != nil && !k.valid(full[m[0]:m[1]]) {
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
	at := lo
	for _, s := range spans {
		b.WriteString(full[at:max(at, s.a)])
		b.WriteString("[" + s.kind + "]")
		found[strings.ToLower(s.kind)]++
		at = min(s.b, hi)
	}
	b.WriteString(full[at:hi])
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

// validIBAN checks the length and the ISO 13616 mod-97 check digits, whatever the case
// and the separators.
func validIBAN(s string) bool {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(s))
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

// validSSN wants nine digits written 123-45-6789, 123.45.6789, 123 45 6789 or 123456789
// (one separator throughout, or none) and rejects numbers the SSA never issues (area 000,
// 666, 900-999; group 00; serial 0000).
func validSSN(s string) bool {
	d := digits(s)
	if len(d) != 9 {
		return false
	}
	if len(s) == 11 && s[3] != s[6] {
		return false
	}
	area, group, serial := d[0:3], d[3:5], d[5:9]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// validIP accepts IPv6 and IPv4 addresses, dotted quads with leading zeros included
// (192.168.001.020), which netip refuses.
func validIP(s string) bool {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Is4() || a.Is6()
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n > 255 || len(p) > 3 {
			return false
		}
	}
	return true
}

// validPhone wants 7 to 15 digits (E.164). With a leading + or an area code in
// parentheses that is enough; otherwise the number is written in groups (555-1234,
// 555.123.4567, 030/1234567, 555–123–4567) or is a bare run of 10 or 11 digits
// (5551234567). Years, counts, decimals (one dot) and ISO dates are left alone.
func validPhone(s string) bool {
	d := digits(s)
	if len(d) < 7 || len(d) > 15 {
		return false
	}
	if strings.HasPrefix(s, "+") || strings.Contains(s, "(") {
		return true
	}
	if isoDate.MatchString(s) {
		return false
	}
	groups := len(strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' }))
	switch {
	case groups == 1:
		return len(d) == 10 || len(d) == 11
	case strings.Count(s, ".") == 1 && groups == 2:
		return false // a decimal number
	}
	return true
}

var isoDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
