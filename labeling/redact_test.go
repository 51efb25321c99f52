package labeling

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	r := NewRedactor(AllRedactions())
	for _, tc := range []struct{ in, want string }{
		{"Write to jane.doe+tag@example.co.uk today.", "Write to [EMAIL] today."},
		{"Card 4111 1111 1111 1111 expires", "Card [CARD] expires"},
		{"Card 4111 1111 1111 1112 is not Luhn-valid", "Card 4111 1111 1111 1112 is not Luhn-valid"},
		{"IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN [IBAN] please"},
		// a failed check leaves the number to the next kind: phone-like digits are redacted
		{"IBAN GB82 WEST 1234 5698 7654 33 wrong check", "IBAN GB82 WEST [PHONE] wrong check"},
		{"SSN 123-45-6789 on file", "SSN [SSN] on file"},
		{"not an SSN: 666-12-3456", "not an SSN: [PHONE]"},
		{"ratio 3:2 and time 12:30:45 stay", "ratio 3:2 and time 12:30:45 stay"},
		{"server 192.168.10.254 and 2001:db8::8a2e:370:7334 down", "server [IP] and [IP] down"},
		{"version 1.2.3.999 is not an address", "version 1.2.3.999 is not an address"},
		{"call +44 20 7946 0958 or (555) 123-4567 or 555-123-4567", "call [PHONE] or [PHONE] or [PHONE]"},
		{"In 2024 we had 1500 users and 37 servers.", "In 2024 we had 1500 users and 37 servers."},
	} {
		got, found := r.Redact(tc.in)
		if got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if (got != tc.in) != (len(found) > 0) {
			t.Errorf("%q: found %v", tc.in, found)
		}
	}
	// each kind can be turned off
	off := NewRedactor(RedactConfig{Emails: true})
	got, found := off.Redact("a@b.org 4111 1111 1111 1111")
	if got != "[EMAIL] 4111 1111 1111 1111" || found["email"] != 1 || len(found) != 1 {
		t.Fatalf("%q %v", got, found)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("mail a@b.co, card 4111-1111-1111-1111, ip ::1, +1 (555) 010-9999")
	f.Add("GB82WEST12345698765432 123-45-6789")
	r := NewRedactor(AllRedactions())
	f.Fuzz(func(t *testing.T, s string) {
		out, found := r.Redact(s)
		n := 0
		for _, c := range found {
			n += c
		}
		if strings.Count(out, "[")-strings.Count(s, "[") != n {
			t.Fatalf("%d redactions recorded, %d markers added", n, strings.Count(out, "[")-strings.Count(s, "["))
		}
		if again, more := r.Redact(out); again != out && len(more) > 0 && strings.Contains(s, "[") == false {
			t.Fatalf("redacting twice changed %q into %q", out, again)
		}
	})
}
