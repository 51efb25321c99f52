package wordpiece

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

type reference struct {
	Text   string   `json:"text"`
	Tokens []string `json:"tokens"`
	IDs    []int32  `json:"ids"`
}

func loadReference(t testing.TB) []reference {
	f, err := os.Open("testdata/reference.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var refs []reference
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r reference
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	if len(refs) < 100 {
		t.Fatalf("only %d reference tokenizations", len(refs))
	}
	return refs
}

// TestMatchesHuggingFace compares every reference tokenization made by the Hugging Face
// library with the same vocabulary.
func TestMatchesHuggingFace(t *testing.T) {
	tok := Default()
	if tok.VocabSize() != 30522 {
		t.Fatalf("vocabulary has %d pieces, want 30522", tok.VocabSize())
	}
	for i, r := range loadReference(t) {
		got := tok.Tokens(r.Text)
		if !slices.Equal(got, r.Tokens) {
			t.Errorf("line %d %q:\n got %q\nwant %q", i+1, trunc(r.Text), got, r.Tokens)
			continue
		}
		ids, cut := tok.Encode(r.Text, 0)
		cls, sep, _ := tok.Special()
		want := append(append([]int32{cls}, r.IDs...), sep)
		if cut || !slices.Equal(ids, want) {
			t.Errorf("line %d: ids %v, want %v", i+1, ids, want)
		}
		if n := tok.Count(r.Text); n != len(r.Tokens) {
			t.Errorf("line %d: Count = %d, want %d", i+1, n, len(r.Tokens))
		}
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestFromJSONMatchesVocab(t *testing.T) {
	// a tokenizer.json with the same vocabulary gives the same pieces and ids
	v := map[string]int32{}
	for i, p := range strings.Split(strings.TrimSuffix(bertBaseUncased, "\n"), "\n") {
		v[p] = int32(i)
	}
	doc := map[string]any{
		"normalizer": map[string]any{"type": "BertNormalizer", "lowercase": true, "strip_accents": nil},
		"model":      map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": v},
	}
	body, _ := json.Marshal(doc)
	j, err := FromJSON(strings.NewReader(string(body)), "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range loadReference(t)[:30] {
		if got := j.Tokens(r.Text); !slices.Equal(got, r.Tokens) {
			t.Errorf("%q: got %q want %q", trunc(r.Text), got, r.Tokens)
		}
	}
	if _, err := FromJSON(strings.NewReader(`{"model":{"type":"BPE"}}`), "x"); err == nil || !strings.Contains(err.Error(), "not WordPiece") {
		t.Errorf("BPE model accepted: %v", err)
	}
	if _, err := FromVocab(strings.NewReader("a\nb\n"), Options{}); err == nil || !strings.Contains(err.Error(), "[UNK]") {
		t.Errorf("vocabulary without [UNK] accepted: %v", err)
	}
}

func TestEncodeTruncates(t *testing.T) {
	tok := Default()
	text := strings.Repeat("tokenization works ", 100)
	ids, cut := tok.Encode(text, 16)
	if !cut || len(ids) != 16 {
		t.Fatalf("len %d cut %v, want 16 true", len(ids), cut)
	}
	cls, sep, _ := tok.Special()
	if ids[0] != cls || ids[15] != sep {
		t.Fatalf("specials missing: %v", ids)
	}
	ids, cut = tok.Encode("short text", 16)
	if cut || len(ids) != 4 {
		t.Fatalf("short: len %d cut %v", len(ids), cut)
	}
}

// texts mixes the reference inputs' characters into random strings.
func genText(refs []reference) *rapid.Generator[string] {
	var alphabet []rune
	seen := map[rune]bool{}
	for _, r := range refs[:30] {
		for _, c := range r.Text {
			if !seen[c] {
				seen[c] = true
				alphabet = append(alphabet, c)
			}
		}
	}
	return rapid.Custom(func(t *rapid.T) string {
		if rapid.Bool().Draw(t, "real") {
			r := refs[rapid.IntRange(0, len(refs)-1).Draw(t, "ref")]
			a := rapid.IntRange(0, len(r.Text)).Draw(t, "a")
			b := rapid.IntRange(a, len(r.Text)).Draw(t, "b")
			return strings.ToValidUTF8(r.Text[a:b], "")
		}
		rs := rapid.SliceOfN(rapid.SampledFrom(alphabet), 0, 200).Draw(t, "runes")
		return string(rs)
	})
}

// pieceChars counts the characters of s that give at least one piece (white space, controls
// and zero-width joiners give none).
func pieceChars(tok *Tokenizer, s string) int {
	n := 0
	for _, c := range s {
		if len(tok.Tokens(string(c))) > 0 {
			n++
		}
	}
	return n
}

// TestSizerContract: a prefix cut by Advance holds exactly n pieces, a tail cut by Back at
// most n, and counts add up across white space.
func TestSizerContract(t *testing.T) {
	tok := Default()
	gen := genText(loadReference(t))
	rapid.Check(t, func(rt *rapid.T) {
		s := gen.Draw(rt, "s")
		total := tok.Count(s)
		n := rapid.IntRange(0, total+2).Draw(rt, "n")
		a, held := tok.AdvanceCount(s, n)
		if got := tok.Count(s[:a]); got != held || held > min(n, total) && !(a > 0 && pieceChars(tok, s[:a]) == 1) {
			rt.Fatalf("Count(s[:Advance(s,%d)=%d]) = %d, AdvanceCount says %d, want at most %d (pieces %q)", n, a, got, held, min(n, total), tok.Tokens(s))
		}
		if held < min(n, total) && utf8.ValidString(s) {
			// only a character that expands to several pieces may stop it short; characters
			// that give no piece (white space, a zero-width joiner) are passed over
			next := ""
			for _, c := range s[a:] {
				if len(tok.Tokens(string(c))) > 0 {
					next = string(c)
					break
				}
			}
			if next != "" && len(tok.Tokens(next)) < 2 {
				rt.Fatalf("Advance(s,%d) stopped at %d pieces before %q", n, held, s[a:min(len(s), a+8)])
			}
		}
		if !utf8.ValidString(s[:a]) {
			rt.Fatalf("Advance cut a character: %d", a)
		}
		if n > 0 {
			b := tok.Back(s, n)
			if got := tok.Count(s[b:]); got > n || (total <= n && b != 0) {
				rt.Fatalf("Count(s[Back(s,%d)=%d:]) = %d of %d", n, b, got, total)
			}
			if total > n && b == 0 {
				rt.Fatalf("Back(s,%d) = 0 but s has %d pieces", n, total)
			}
		}
		if i := strings.IndexByte(s, ' '); i >= 0 {
			if tok.Count(s[:i])+tok.Count(s[i:]) != total {
				rt.Fatalf("counts do not add up at the space at %d", i)
			}
		}
	})
}

func FuzzTokenizer(f *testing.F) {
	for _, r := range loadReference(f)[:40] {
		f.Add(r.Text, 5)
	}
	tok := Default()
	f.Fuzz(func(t *testing.T, s string, n int) {
		total := tok.Count(s)
		if got := len(tok.Tokens(s)); got != total {
			t.Fatalf("Tokens gives %d pieces, Count %d", got, total)
		}
		n = max(n%(total+2), 0)
		if a, held := tok.AdvanceCount(s, n); tok.Count(s[:a]) != held || held > min(n, total) && utf8.RuneCountInString(strings.TrimSpace(s[:a])) != 1 {
			t.Fatalf("Advance(%d): prefix has %d pieces, AdvanceCount says %d", n, tok.Count(s[:a]), held)
		}
		if b := tok.Back(s, n); n > 0 && tok.Count(s[b:]) > n {
			t.Fatalf("Back(%d): tail has more pieces", n)
		}
		ids, _ := tok.Encode(s, 0)
		if len(ids) != total+2 {
			t.Fatalf("Encode gives %d ids for %d pieces", len(ids), total)
		}
	})
}

func BenchmarkCount(b *testing.B) {
	var sb strings.Builder
	for _, r := range loadReference(b) {
		sb.WriteString(r.Text)
		sb.WriteString("\n\n")
	}
	text := sb.String()
	tok := Default()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Count(text)
	}
}
