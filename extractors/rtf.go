package extractors

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/docingest/docingest/document"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// RTFExtractor reads Rich Text Format with its own tokenizer: paragraphs, line breaks and
// tabs; tables one block per row (cells joined by " | "); headings from a paragraph's
// outline level (\outlinelevel, as pandoc writes) or its style's name ("heading N" in the
// style sheet, as Word writes); Unicode escapes (\uN with their \ucN fallbacks skipped,
// surrogate pairs joined) and 8-bit escapes (\'hh in the document's \ansicpg code page);
// field results kept and field instructions left out; pictures, objects, binary data
// (\binN), headers, footers and every \* destination skipped. Groups nest MaxRTFDepth
// levels at most.
type RTFExtractor struct{ Limits Limits }

// MaxRTFDepth is the deepest group nesting an RTF document may have (Word's own files
// nest a few dozen levels).
const MaxRTFDepth = 256

// rtfSkipped are destinations whose text is not the document's.
var rtfSkipped = map[string]bool{
	"fonttbl": true, "colortbl": true, "info": true, "pict": true, "object": true,
	"header": true, "headerl": true, "headerr": true, "headerf": true, "footer": true, "footerl": true,
	"footerr": true, "footerf": true, "fldinst": true, "themedata": true, "colorschememapping": true,
	"datastore": true, "latentstyles": true, "listtable": true, "listoverridetable": true, "rsidtbl": true,
	"generator": true, "xmlnstbl": true, "mmathPr": true, "pntext": true, "listtext": true, "filetbl": true,
	"revtbl": true, "pgdsctbl": true, "shppict": true, "nonshppict": true, "bkmkstart": true, "bkmkend": true,
}

type rtfGroup struct {
	skip     bool
	style    bool // inside the style sheet
	uc       int  // fallback characters after \uN
	outline  int  // the paragraph's outline level + 1 (0: none)
	styleNum int  // the paragraph's style (\sN)
}

func (e RTFExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	if !strings.HasPrefix(string(data[:min(len(data), 5)]), `{\rtf`) {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "rtf: does not start with {\\rtf")
	}
	b := newBuilder(ctx, FormatRTF, e.Limits)
	b.sizeHint(len(data) / 2)
	var (
		stack      = []rtfGroup{{uc: 1}}
		para       strings.Builder
		cells      []string
		inTable    bool
		headings   = map[int]int{} // style number → heading level
		styleName  strings.Builder
		styleNum   = -1
		dec        *encoding.Decoder
		skipChars  int // fallback characters still to skip after a \uN
		highSurr   rune
		blk        = &block{b: b}
		byteRun    []byte // consecutive \'hh bytes, decoded together (double-byte code pages)
		pendingTop = func() *rtfGroup { return &stack[len(stack)-1] }
	)
	dec = charmap.Windows1252.NewDecoder()
	flushBytes := func() {
		if len(byteRun) == 0 {
			return
		}
		s, err := dec.String(string(byteRun))
		if err != nil {
			s = strings.ToValidUTF8(string(byteRun), "\uFFFD")
		}
		byteRun = byteRun[:0]
		para.WriteString(s)
	}
	emit := func(s string) {
		g := pendingTop()
		if g.skip {
			return
		}
		if g.style {
			styleName.WriteString(s)
			return
		}
		flushBytes()
		if para.Len()+len(s) > MaxBlockBytes {
			blk.WriteString(para.String())
			para.Reset()
		}
		para.WriteString(s)
	}
	endPara := func() {
		flushBytes()
		g := pendingTop()
		text := para.String()
		para.Reset()
		if inTable {
			para.WriteString(text + " ") // a paragraph inside a cell stays with the cell
			return
		}
		level := g.outline
		if level == 0 {
			level = headings[g.styleNum]
		}
		if level > 0 && strings.TrimSpace(text) != "" {
			blk.end()
			b.heading(level, "", text)
			return
		}
		blk.WriteString(text)
		blk.end()
	}
	i := 0
	for i < len(data) && b.tick() {
		c := data[i]
		switch c {
		case '{':
			if len(stack) > MaxRTFDepth { // the first entry is outside every group
				return document.Document{}, document.Permanentf(document.ReasonCorrupt, "rtf: groups nest deeper than %d levels", MaxRTFDepth)
			}
			flushBytes()
			stack = append(stack, *pendingTop())
			i++
			continue
		case '}':
			flushBytes()
			if g := pendingTop(); g.style && styleNum >= 0 {
				// the end of one style's definition: "heading 2;" names a heading style
				name := strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(styleName.String()), ";")))
				if lvl, ok := strings.CutPrefix(name, "heading "); ok {
					if n, err := strconv.Atoi(lvl); err == nil && n >= 1 && n <= 9 {
						headings[styleNum] = n
					}
				}
				styleName.Reset()
				styleNum = -1
			}
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			i++
			continue
		case '\r', '\n':
			i++
			continue
		case '\\':
		default:
			if skipChars > 0 {
				skipChars--
				i++
				continue
			}
			j := i
			for j < len(data) && data[j] != '\\' && data[j] != '{' && data[j] != '}' && data[j] != '\r' && data[j] != '\n' {
				j++
			}
			n := j - i
			if skipChars > 0 {
				n = 1
			}
			emit(string(data[i : i+n]))
			i += n
			continue
		}
		// a control word or symbol
		i++
		if i >= len(data) {
			break
		}
		c = data[i]
		if !isLetter(c) {
			i++
			switch c {
			case '\\', '{', '}':
				if skipChars > 0 {
					skipChars--
					continue
				}
				emit(string(c))
			case '~':
				emit("\u00a0")
			case '_':
				emit("\u2011")
			case '-':
				// an optional hyphen
			case '*':
				pendingTop().skip = true // an unknown destination unless a reader knows it
			case '\'':
				if i+2 <= len(data) {
					if v, err := strconv.ParseUint(string(data[i:i+2]), 16, 8); err == nil {
						if skipChars > 0 {
							skipChars--
						} else if g := pendingTop(); !g.skip && !g.style {
							byteRun = append(byteRun, byte(v))
						}
					}
					i += 2
				}
			case '\n', '\r':
				endPara()
			}
			continue
		}
		j := i
		for j < len(data) && isLetter(data[j]) && j-i < 32 {
			j++
		}
		word := string(data[i:j])
		num, hasNum := 0, false
		k := j
		if k < len(data) && (data[k] == '-' || isDigit(data[k])) {
			k++
			for k < len(data) && isDigit(data[k]) && k-j < 11 {
				k++
			}
			if n, err := strconv.Atoi(string(data[j:k])); err == nil {
				num, hasNum = n, true
			}
		}
		if k < len(data) && data[k] == ' ' {
			k++ // the delimiting space belongs to the control word
		}
		i = k
		g := pendingTop()
		switch {
		case rtfSkipped[word]:
			g.skip = true
		case word == "stylesheet":
			g.style = true
		case word == "bin":
			if hasNum && num > 0 {
				i += min(num, len(data)-i) // binary data: skipped whole
			}
		case word == "u" && hasNum:
			r := rune(num)
			if r < 0 {
				r += 65536
			}
			skipChars = g.uc
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00:
				highSurr = r
			case utf16.IsSurrogate(r):
				emit(string(utf16.DecodeRune(highSurr, r)))
				highSurr = 0
			default:
				emit(string(r))
			}
		case word == "uc" && hasNum:
			g.uc = max(0, min(num, 8))
		case word == "ansicpg" && hasNum:
			if cm := codePage(num); cm != nil {
				dec = cm.NewDecoder()
			}
		case word == "par" || word == "sect":
			endPara()
		case word == "line":
			emit("\n")
		case word == "tab":
			emit("\t")
		case word == "emdash":
			emit("—")
		case word == "endash":
			emit("–")
		case word == "bullet":
			emit("•")
		case word == "lquote":
			emit("‘")
		case word == "rquote":
			emit("’")
		case word == "ldblquote":
			emit("“")
		case word == "rdblquote":
			emit("”")
		case word == "pard":
			g.outline, g.styleNum = 0, 0
		case word == "outlinelevel" && hasNum && num >= 0 && num < 9:
			g.outline = num + 1
		case word == "s" && hasNum:
			if g.style {
				styleNum = num
			} else {
				g.styleNum = num
			}
		case word == "intbl":
			inTable = true
		case word == "cell":
			flushBytes()
			cells = append(cells, strings.Join(strings.Fields(para.String()), " "))
			para.Reset()
		case word == "row":
			var kept []string
			for _, c := range cells {
				if c != "" {
					kept = append(kept, c)
				}
			}
			cells = cells[:0]
			inTable = false
			blk.WriteString(strings.Join(kept, " | "))
			blk.end()
		}
	}
	if para.Len() > 0 || len(byteRun) > 0 {
		endPara()
	}
	blk.end()
	return b.done()
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// codePage is the charmap of an RTF \ansicpg number (the Windows and DOS code pages).
func codePage(n int) *charmap.Charmap {
	switch n {
	case 437:
		return charmap.CodePage437
	case 850:
		return charmap.CodePage850
	case 852:
		return charmap.CodePage852
	case 866:
		return charmap.CodePage866
	case 874:
		return charmap.Windows874
	case 1250:
		return charmap.Windows1250
	case 1251:
		return charmap.Windows1251
	case 1252:
		return charmap.Windows1252
	case 1253:
		return charmap.Windows1253
	case 1254:
		return charmap.Windows1254
	case 1255:
		return charmap.Windows1255
	case 1256:
		return charmap.Windows1256
	case 1257:
		return charmap.Windows1257
	case 1258:
		return charmap.Windows1258
	case 10000:
		return charmap.Macintosh
	}
	return nil
}
