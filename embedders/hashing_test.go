package embedders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func cosine(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	return dot
}

func TestHashingEmbedder(t *testing.T) {
	t.Parallel()
	h, err := NewHashing(DefaultHashing())
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"The heron stood in the shallow river.",
		"A heron was standing in the shallows of the river.",
		"Quarterly revenue grew by twelve percent.",
		"",
		"日本語のテキスト",
	}
	vecs, err := h.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		if len(v) != 384 {
			t.Fatalf("vector %d has %d dimensions", i, len(v))
		}
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if texts[i] != "" && math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d: norm² %f", i, n)
		}
		if texts[i] == "" && n != 0 {
			t.Errorf("empty text: norm² %f", n)
		}
	}
	near, far := cosine(vecs[0], vecs[1]), cosine(vecs[0], vecs[2])
	if near < 0.3 || far > 0.15 || near <= far {
		t.Errorf("lexical similarity: paraphrase %.3f, unrelated %.3f", near, far)
	}
	again, _ := h.Embed(context.Background(), texts)
	if diff := cmp.Diff(vecs, again); diff != "" {
		t.Fatal("not deterministic")
	}
	// Pinned values: any change to hashing or weights must change the model id.
	sum := sha256.New()
	for _, v := range vecs {
		for _, x := range v {
			fmt.Fprintf(sum, "%.6f,", x)
		}
	}
	got := hex.EncodeToString(sum.Sum(nil))[:16]
	if want := pinnedHashing; got != want {
		t.Errorf("vector drifted for model %s: got %s, want %s (bump the model id when this is intended)", h.Model(), got, want)
	}
}

const pinnedHashing = "cff966450d28ef40"

func TestHashingConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []HashingConfig{{Dimensions: 4, MinN: 3, MaxN: 5}, {Dimensions: 384, MinN: 0, MaxN: 5}, {Dimensions: 384, MinN: 4, MaxN: 3}} {
		if _, err := NewHashing(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestWordTokenizer(t *testing.T) {
	t.Parallel()
	text := "Hello, world! naïve café 日本語 don't 3.14 🙂"
	var got []string
	tok := WordTokenizer{}
	for i := 0; i < len(text); {
		s, e := tok.Next(text, i)
		if s == e {
			break
		}
		got = append(got, text[s:e])
		i = e
	}
	want := []string{"Hello", ",", "world", "!", "naïve", "café", "日", "本", "語", "don", "'", "t", "3", ".", "14", "🙂"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
	if n := tok.Count(text); n != len(want) {
		t.Fatalf("Count = %d", n)
	}
	if s := strings.Repeat("word ", 10); tok.Count(s[:tok.Advance(s, 4)]) != 4 || tok.Count(s[tok.Back(s, 3):]) != 3 {
		t.Fatal("Advance/Back disagree with Count")
	}
}

func BenchmarkHashingEmbed(b *testing.B) {
	h, _ := NewHashing(DefaultHashing())
	text := strings.Repeat("The survey team walked the east bank and counted herons near the mill. ", 14) // ~1000 chars
	batch := make([]string, 32)
	for i := range batch {
		batch[i] = text
	}
	b.SetBytes(int64(len(text) * len(batch)))
	for b.Loop() {
		h.Embed(context.Background(), batch)
	}
	b.ReportMetric(float64(len(batch)*b.N)/b.Elapsed().Seconds(), "texts/s")
}

func benchHashing(b *testing.B, batch int) {
	h, _ := NewHashing(DefaultHashing())
	texts := benchTexts()
	n := 0
	for b.Loop() {
		for at := 0; at < len(texts); at += batch {
			if _, err := h.Embed(context.Background(), texts[at:min(len(texts), at+batch)]); err != nil {
				b.Fatal(err)
			}
		}
		n += len(texts)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}

func BenchmarkHashingBatch1(b *testing.B)  { benchHashing(b, 1) }
func BenchmarkHashingBatch32(b *testing.B) { benchHashing(b, 32) }

// benchTexts are short, as sentences and small chunks are: 6 to 36 tokens.
func benchTexts() []string {
	var texts []string
	base := "Owls hunt at night. "
	for i := 0; i < 256; i++ {
		texts = append(texts, strings.Repeat(base, 1+i%6))
	}
	return texts
}

// A run of word characters is cut into tokens of at most MaxWordBytes, so that a token
// (and a chunk sized in tokens) has a bounded size in bytes.
func TestWordTokenizerLongWords(t *testing.T) {
	t.Parallel()
	tok := WordTokenizer{}
	for _, tc := range []struct{ n, tokens int }{
		{MaxWordBytes, 1}, {MaxWordBytes + 1, 2}, {2 * MaxWordBytes, 2}, {2*MaxWordBytes + 1, 3},
	} {
		s := strings.Repeat("x", tc.n)
		if got := tok.Count(s); got != tc.tokens {
			t.Errorf("a word of %d bytes: %d tokens, want %d", tc.n, got, tc.tokens)
		}
		if off := tok.Advance(s, 1); off != min(tc.n, MaxWordBytes) {
			t.Errorf("a word of %d bytes: the first token ends at %d", tc.n, off)
		}
		if got := tok.Count(s[tok.Back(s, 1):]); got != 1 {
			t.Errorf("a word of %d bytes: the suffix from Back(1) counts %d tokens", tc.n, got)
		}
	}
	// multi-byte letters are never split
	s := strings.Repeat("é", MaxWordBytes)
	for i := 0; i < len(s); {
		start, end := tok.Next(s, i)
		if start == end {
			break
		}
		if !utf8.ValidString(s[start:end]) || end-start > MaxWordBytes+utf8.UTFMax {
			t.Fatalf("token %q", s[start:end])
		}
		i = end
	}
}
