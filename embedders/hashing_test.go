package embedders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/docingest/docingest/internal/ftoa"
	"github.com/docingest/docingest/internal/testenv"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
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
		// rounding each component by at most 0.00005 moves the squared norm by at most
		// 2·√384·0.00005 + 384·0.00005² < 0.00197
		if texts[i] != "" && math.Abs(n-1) > 0.00197 {
			t.Errorf("vector %d: norm² %f", i, n)
		}
		for j, x := range v {
			if k := math.Round(math.Abs(float64(x)) * ftoa.Quantum); float32(math.Abs(float64(x))) != ftoa.Quantize(int(k)) {
				t.Fatalf("vector %d[%d] = %v, not rounded to four decimal places", i, j, x)
			}
			if x == 0 && math.Signbit(float64(x)) {
				t.Fatalf("vector %d[%d] is -0", i, j)
			}
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
	if want := pinnedHashing[h.Model()]; got != want {
		t.Errorf("vector drifted for model %s: got %s, want %s (bump the model id when this is intended)", h.Model(), got, want)
	}
}

// pinnedHashing holds the pinned values of each model id: a new entry goes with a new id.
var pinnedHashing = map[string]string{
	// "docingest-hashing-v3/d384/c3-5": "93a7de983da0925f",
	"docingest-hashing-v4/d384/c3-5": "a53fc29e57f47f6b",
}

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

// referenceEmbed is the hashing embedder written as plainly as can be, from its
// definition (docingest-hashing-v4): every token from WordTokenizer.Next, every feature's
// bytes spelled out and hashed by a byte-at-a-time reading of the same hash. The embedder
// must give the very same floats, or its model id must change.
func referenceEmbed(h *Hashing, text string) []float32 {
	acc := make([]float64, h.cfg.Dimensions)
	mix := func(x uint64) uint64 {
		x ^= x >> 33
		x *= 0xff51afd7ed558ccd
		x ^= x >> 33
		x *= 0xc4ceb9fe1a85ec53
		return x ^ x>>33
	}
	hash := func(seed uint64, s string) uint64 {
		h := seed ^ uint64(len(s))*0x9e3779b97f4a7c15
		for { // eight bytes at a time, little-endian, the last ones padded with zeros
			var x uint64
			for i := 0; i < 8 && i < len(s); i++ {
				x += uint64(s[i]) << (8 * i)
			}
			if len(s) <= 8 {
				return mix(h ^ x)
			}
			h = mix(h ^ x)
			s = s[8:]
		}
	}
	addRef := func(hash uint64, w float64) {
		if hash%2 == 1 {
			w = -w
		}
		acc[(hash>>32)*uint64(len(acc))/(1<<32)] += w
	}
	var prev uint64
	hasPrev := false
	for i := 0; i < len(text); {
		start, end := h.tok.Next(text, i)
		if start == end {
			break
		}
		i = end
		word := text[start:end]
		if c, _ := classAt(word, 0); c != classWord {
			if r, _ := utf8.DecodeRuneInString(word); unicode.IsPunct(r) || unicode.IsSpace(r) {
				hasPrev = false
				continue
			}
		}
		word = strings.ToLower(word)
		wh := hash(0x243f6a8885a308d3, word)
		var grams []string
		marked := []rune("<" + word + ">")
		for end := range len(marked) + 1 { // by where they end, then by length
			for n := h.cfg.MinN; n <= h.cfg.MaxN && n <= end; n++ {
				grams = append(grams, string(marked[end-n:end]))
			}
		}
		for _, g := range grams {
			addRef(hash(0xa4093822299f31d0, g), 1/float64(len(grams)))
		}
		addRef(wh, 1)
		if hasPrev {
			addRef(mix(0x13198a2e03707344^prev*0x9e3779b97f4a7c15^wh), 0.5)
		}
		prev, hasPrev = wh, true
	}
	return normalize(acc)
}

func TestHashingMatchesReference(t *testing.T) {
	t.Parallel()
	h, err := NewHashing(DefaultHashing())
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	files, _ := filepath.Glob("../testdata/docs/*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for s := string(b); len(s) > 0; {
			n := min(len(s), 700)
			texts = append(texts, s[:n], strings.ToUpper(s[:n]))
			s = s[n:]
		}
	}
	if len(texts) < 20 {
		t.Fatalf("only %d texts from testdata/docs", len(texts))
	}
	check := func(t interface{ Fatalf(string, ...any) }, texts []string) {
		got, err := h.Embed(context.Background(), texts)
		if err != nil {
			t.Fatalf("%v", err)
		}
		for i, text := range texts {
			if diff := cmp.Diff(referenceEmbed(h, text), got[i]); diff != "" {
				t.Fatalf("text %q: vector differs from the reference (-want +got):\n%s", text, diff)
			}
		}
	}
	check(t, texts)
	check(t, texts) // from a warm cache
	// Many generations turn over: 20,000 words drawn by a Zipf law, so common words move
	// back from the old generation while rare ones are dropped and their storage reused.
	rnd := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rnd, 1.1, 1, 19_999)
	vocab := []string{"Straße", "日本", "naïve", "x"}
	for len(vocab) < 20_000 {
		vocab = append(vocab, strconv.FormatUint(rnd.Uint64()>>rnd.IntN(60), 36)+vocab[rnd.IntN(4)])
	}
	var many []string
	for range 300 {
		var b strings.Builder
		for range 200 {
			b.WriteString(vocab[zipf.Uint64()])
			b.WriteString(" ,"[rnd.IntN(2):][:1])
		}
		many = append(many, b.String())
	}
	check(t, many)
	rapid.Check(t, func(rt *rapid.T) {
		check(rt, rapid.SliceOf(rapid.OneOf(rapid.String(), rapid.StringOf(rapid.SampledFrom([]rune("aAbB éÉ日本.,-_ \n"))))).Draw(rt, "texts"))
	})
	// other n-gram sizes and dimensions: the general ASCII loop, and n-grams past eight
	// bytes (MaxN above 8), which go the way of words outside ASCII
	rapid.Check(t, func(rt *rapid.T) {
		minN := rapid.IntRange(1, 6).Draw(rt, "minN")
		cfg := HashingConfig{Dimensions: rapid.IntRange(8, 600).Draw(rt, "dims"), MinN: minN, MaxN: rapid.IntRange(minN, 16).Draw(rt, "maxN")}
		h2, err := NewHashing(cfg)
		if err != nil {
			rt.Fatal(err)
		}
		texts := rapid.SliceOf(rapid.OneOf(rapid.String(), rapid.StringOf(rapid.SampledFrom([]rune("aAbBzZ09 éÉ日本.,-_ \n"))))).Draw(rt, "texts")
		got, err := h2.Embed(context.Background(), texts)
		if err != nil {
			rt.Fatal(err)
		}
		for i, text := range texts {
			if diff := cmp.Diff(referenceEmbed(h2, text), got[i]); diff != "" {
				rt.Fatalf("%+v, text %q: vector differs from the reference (-want +got):\n%s", cfg, text, diff)
			}
		}
	})
}

// BenchmarkHashingRealText embeds the golden texts of the extractor tests (real manuals,
// about 1.2 MB) cut into chunks of about 850 bytes, the size of a 256-word chunk: words
// repeat as in real text, and new words keep arriving. DOCINGEST_BENCH_TEXT names other
// files instead, e.g. 'bench/corpus/throughput/files133/*.txt' (made by bench/throughput.sh).
func BenchmarkHashingRealText(b *testing.B) {
	pattern := "../testdata/golden/*.txt"
	if p := os.Getenv("DOCINGEST_BENCH_TEXT"); p != "" {
		pattern = p
	}
	texts, size := testenv.TextChunks(b, pattern, 850)
	if size < 1_000_000 {
		b.Fatalf("only %d bytes of golden text", size)
	}
	h, _ := NewHashing(DefaultHashing())
	b.SetBytes(int64(size))
	for b.Loop() {
		for at := 0; at < len(texts); at += 32 {
			if _, err := h.Embed(context.Background(), texts[at:min(len(texts), at+32)]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func TestQuantize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {-0.00004, "0"}, {0.00004, "0"}, {-0.00006, "-0.0001"}, {0.00006, "0.0001"},
		{0.041249, "0.0412"}, {-0.041251, "-0.0413"}, {1, "1"}, {-1, "-1"}, {0.99996, "1"},
	} {
		got := quantize(tc.v)
		if s := strconv.FormatFloat(float64(got), 'f', -1, 32); s != tc.want {
			t.Errorf("quantize(%v) = %s, want %s", tc.v, s, tc.want)
		}
	}
}

// Count and Advance (ASCII in their own loop) agree with the tokens Next finds.
func TestWordTokenizerCountAdvanceMatchNext(t *testing.T) {
	t.Parallel()
	tok := WordTokenizer{}
	alphabet := []rune("ab1 \t\n.,$-é日\u00a0\u3000ß\x00Ω")
	rapid.Check(t, func(rt *rapid.T) {
		ascii := []rune("abzAZ09 \t\n\r.,$-_@[`{~\x00\x1f\x7f")
		s := rapid.OneOf(rapid.StringOf(rapid.SampledFrom(alphabet)), rapid.String(),
			rapid.Custom(func(t *rapid.T) string { // runs near MaxWordBytes
				return strings.Repeat("x", rapid.IntRange(MaxWordBytes-3, MaxWordBytes+3).Draw(t, "run")) + rapid.StringOf(rapid.SampledFrom(alphabet)).Draw(t, "tail")
			}),
			// ASCII text long enough for asciiTokens' blocks, now and then a character
			// outside ASCII or a word near MaxWordBytes
			rapid.Custom(func(t *rapid.T) string {
				var b strings.Builder
				for range rapid.IntRange(0, 12).Draw(t, "parts") {
					switch rapid.IntRange(0, 9).Draw(t, "kind") {
					case 0:
						b.WriteString(rapid.SampledFrom([]string{"é", "日", "\u00a0", "ß"}).Draw(t, "other"))
					case 1:
						b.WriteString(strings.Repeat("w", rapid.IntRange(MaxWordBytes-10, 2*MaxWordBytes+9).Draw(t, "long")))
					default:
						b.WriteString(rapid.StringOfN(rapid.SampledFrom(ascii), 0, 40, -1).Draw(t, "ascii"))
					}
				}
				return b.String()
			})).Draw(rt, "s")
		var starts, ends []int
		for i := 0; ; {
			start, end := tok.Next(s, i)
			if start == end {
				break
			}
			starts, ends = append(starts, start), append(ends, end)
			i = end
		}
		for k := 0; k <= len(starts)+1; k++ {
			want := 0 // all of s: fewer than k tokens
			if k == 0 {
				want = len(s)
			} else if k <= len(starts) {
				want = starts[len(starts)-k]
			}
			if got := tok.Back(s, k); got != want {
				rt.Fatalf("Back(%q, %d) = %d, want %d", s, k, got, want)
			}
		}
		if got := tok.Count(s); got != len(ends) {
			rt.Fatalf("Count(%q) = %d, Next finds %d tokens", s, got, len(ends))
		}
		for k := 0; k <= len(ends)+1; k++ {
			want := len(s)
			if k == 0 {
				want = 0
			} else if k <= len(ends) {
				want = ends[k-1]
			}
			if got := tok.Advance(s, k); got != want {
				rt.Fatalf("Advance(%q, %d) = %d, want %d", s, k, got, want)
			}
		}
	})
}

// BenchmarkWordTokenizerAdvance walks the golden texts (or the files DOCINGEST_BENCH_TEXT
// matches, e.g. 'bench/corpus/throughput/files133/*.txt') 256 tokens at a time, as the
// recursive chunker does.
func BenchmarkWordTokenizerAdvance(b *testing.B) {
	pattern := "../testdata/golden/*.txt"
	if p := os.Getenv("DOCINGEST_BENCH_TEXT"); p != "" {
		pattern = p
	}
	texts, size := testenv.TextChunks(b, pattern, 1<<20)
	b.SetBytes(int64(size))
	tok := WordTokenizer{}
	for b.Loop() {
		for _, text := range texts {
			for s := text; s != ""; {
				s = s[tok.Advance(s, 256):]
			}
		}
	}
}
