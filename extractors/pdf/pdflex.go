package pdf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// csLexer reads a page's content stream as operators with their operands (ISO 32000-1
// 7.2 and 7.8.2), inline images included (8.9.7): their binary data is skipped. The
// library's PostScript interpreter, used before, reads inline image data as tokens and
// fails on the first '<' in it, losing the whole document. Malformed syntax is skipped
// as readers do; only the caps below make an error.
type csLexer struct {
	r       *bufio.Reader
	args    []csOperand
	tmp     []byte
	maxArgs int // operands kept per operator (the oldest are dropped past it)
	// inlineImages counts the inline images (BI ... ID ... EI) skipped
	inlineImages int
}

type csKind uint8

const (
	csOther csKind = iota // booleans, null, dictionaries: read and ignored
	csNumber
	csString
	csName
	csArray
)

// csOperand is one operand: a number, a string's raw bytes, a name, or an array.
type csOperand struct {
	kind csKind
	num  float64
	str  string
	arr  []csOperand
}

// Caps on one content stream's tokens: far above what real streams hold.
const (
	csMaxOperands   = 64      // kept per operator in content streams
	cmapMaxOperands = 1 << 12 // in CMaps (a bfchar block holds at most 100 pairs)
	csMaxArray      = 1 << 20 // elements of one array
	csMaxDepth      = 32      // nesting of arrays and dictionaries
	csMaxString     = 4 << 20 // bytes of one string
	csMaxInlineData = 64 << 20
)

var errContentStream = errors.New("content stream over a cap")

func newCSLexer(r io.Reader) *csLexer {
	return &csLexer{r: bufio.NewReaderSize(r, 32<<10), maxArgs: csMaxOperands}
}

// next returns the next operator and its operands (valid until the next call), or
// io.EOF at the end of the stream.
func (l *csLexer) next() (string, []csOperand, error) {
	l.args = l.args[:0]
	for {
		v, op, err := l.token(0)
		if err != nil {
			return "", nil, err
		}
		if op == "" {
			if len(l.args) == l.maxArgs {
				copy(l.args, l.args[1:])
				l.args = l.args[:len(l.args)-1]
			}
			l.args = append(l.args, v)
			continue
		}
		if op == "BI" {
			l.inlineImages++
			if err := l.skipInlineImage(); err != nil {
				return "", nil, err
			}
			l.args = l.args[:0]
			continue
		}
		return op, l.args, nil
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// token reads one operand, or an operator (op set), skipping white space, comments and
// stray delimiters. End of data is io.EOF; a read error is returned as is.
func (l *csLexer) token(depth int) (v csOperand, op string, err error) {
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			return v, "", readEnd(err)
		}
		switch {
		case isSpace(c):
			continue
		case c == '%':
			if err := l.skipLine(); err != nil {
				return v, "", err
			}
			continue
		case c == '(':
			s, err := l.literal()
			return csOperand{kind: csString, str: s}, "", err
		case c == '<':
			n, err := l.r.ReadByte()
			if err != nil {
				return v, "", readEnd(err)
			}
			if n == '<' {
				return csOperand{}, "", l.dict(depth + 1)
			}
			_ = l.r.UnreadByte()
			s, err := l.hex()
			return csOperand{kind: csString, str: s}, "", err
		case c == '[':
			return l.array(depth + 1)
		case c == '/':
			s, err := l.regular(nil)
			return csOperand{kind: csName, str: unescapeName(s)}, "", err
		case c == ')' || c == '>' || c == ']' || c == '{' || c == '}':
			continue // stray: skipped
		}
		s, err := l.regular([]byte{c})
		if err != nil {
			return v, "", err
		}
		if f, ok := parseNumber(s); ok {
			return csOperand{kind: csNumber, num: f}, "", nil
		}
		switch s {
		case "true", "false", "null":
			return csOperand{}, "", nil
		}
		return csOperand{}, s, nil
	}
}

// readEnd turns the end of data, clean or truncated (a common fault of real files'
// compressed streams), into io.EOF.
func readEnd(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return err
}

func (l *csLexer) skipLine() error {
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			return readEnd(err)
		}
		if c == '\n' || c == '\r' {
			return nil
		}
	}
}

// regular reads the rest of a run of regular characters after prefix.
func (l *csLexer) regular(prefix []byte) (string, error) {
	l.tmp = append(l.tmp[:0], prefix...)
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			if err = readEnd(err); err == io.EOF {
				break
			}
			return "", err
		}
		if isSpace(c) || isDelim(c) {
			_ = l.r.UnreadByte()
			break
		}
		if len(l.tmp) >= csMaxString {
			return "", fmt.Errorf("%w: token over %d bytes", errContentStream, csMaxString)
		}
		l.tmp = append(l.tmp, c)
	}
	return string(l.tmp), nil
}

// parseNumber reads an integer or real ("+1", "-.5", "3.") as PDF writes them.
func parseNumber(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || ((c == '+' || c == '-') && i == 0):
		default:
			return 0, false
		}
	}
	if !digits {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// "1.2.3" or "--1": readers take what parses; a number too large is its sign's max
		if errors.Is(err, strconv.ErrRange) {
			return f, true
		}
		return 0, true
	}
	return f, true
}

// literal reads a (string) after its '(': balanced parentheses, escapes, and end-of-line
// markers inside it read as "\n".
func (l *csLexer) literal() (string, error) {
	l.tmp = l.tmp[:0]
	depth := 1
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			if err = readEnd(err); err == io.EOF {
				return string(l.tmp), nil // unterminated: what was read
			}
			return "", err
		}
		if len(l.tmp) >= csMaxString {
			return "", fmt.Errorf("%w: string over %d bytes", errContentStream, csMaxString)
		}
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return string(l.tmp), nil
			}
		case '\r':
			if n, err := l.r.ReadByte(); err == nil && n != '\n' {
				_ = l.r.UnreadByte()
			}
			c = '\n'
		case '\\':
			e, err := l.r.ReadByte()
			if err != nil {
				return string(l.tmp), nil
			}
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r': // line continuation
				if n, err := l.r.ReadByte(); err == nil && n != '\n' {
					_ = l.r.UnreadByte()
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2; k++ {
						d, err := l.r.ReadByte()
						if err != nil {
							break
						}
						if d < '0' || d > '7' {
							_ = l.r.UnreadByte()
							break
						}
						v = v*8 + int(d-'0')
					}
					c = byte(v)
				} else {
					c = e // \( \) \\ and unknown escapes: the character
				}
			}
		}
		l.tmp = append(l.tmp, c)
	}
}

// hex reads a <hex string> after its '<': white space and other non-hex bytes are
// skipped, an odd last digit counts as followed by 0.
func (l *csLexer) hex() (string, error) {
	l.tmp = l.tmp[:0]
	hi, half := byte(0), false
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			if err = readEnd(err); err != io.EOF {
				return "", err
			}
			break
		}
		if c == '>' {
			break
		}
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			continue
		}
		if len(l.tmp) >= csMaxString {
			return "", fmt.Errorf("%w: string over %d bytes", errContentStream, csMaxString)
		}
		if half {
			l.tmp = append(l.tmp, hi<<4|d)
		} else {
			hi = d
		}
		half = !half
	}
	if half {
		l.tmp = append(l.tmp, hi<<4)
	}
	return string(l.tmp), nil
}

// array reads the elements of an [array] after its '['. An operator inside it (not
// valid syntax) is dropped.
func (l *csLexer) array(depth int) (csOperand, string, error) {
	if depth > csMaxDepth {
		return csOperand{}, "", fmt.Errorf("%w: arrays nested over %d deep", errContentStream, csMaxDepth)
	}
	a := csOperand{kind: csArray}
	for {
		c, err := l.peekNonSpace()
		if err != nil {
			return a, "", err
		}
		if c == ']' {
			_, _ = l.r.ReadByte()
			return a, "", nil
		}
		v, op, err := l.token(depth)
		if err != nil {
			return a, "", err
		}
		if op != "" {
			continue
		}
		if len(a.arr) >= csMaxArray {
			return a, "", fmt.Errorf("%w: array over %d elements", errContentStream, csMaxArray)
		}
		a.arr = append(a.arr, v)
	}
}

// dict reads a <<dictionary>> after its '<<' and drops it (marked-content properties).
func (l *csLexer) dict(depth int) error {
	if depth > csMaxDepth {
		return fmt.Errorf("%w: dictionaries nested over %d deep", errContentStream, csMaxDepth)
	}
	for {
		c, err := l.peekNonSpace()
		if err != nil {
			return err
		}
		if c == '>' {
			_, _ = l.r.ReadByte()
			if n, err := l.r.ReadByte(); err == nil && n != '>' {
				_ = l.r.UnreadByte()
			}
			return nil
		}
		if _, _, err := l.token(depth); err != nil {
			return err
		}
	}
}

// peekNonSpace skips white space and comments and returns the next byte unread.
func (l *csLexer) peekNonSpace() (byte, error) {
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			return 0, readEnd(err)
		}
		if isSpace(c) {
			continue
		}
		if c == '%' {
			if err := l.skipLine(); err != nil {
				return 0, err
			}
			continue
		}
		_ = l.r.UnreadByte()
		return c, nil
	}
}

// skipInlineImage skips an inline image after its BI operator: the key/value pairs up
// to ID, one white-space byte, then the data up to an EI that stands alone (white space
// before it, white space or the end after it, and no binary bytes in what follows it),
// since the data's length is not given before PDF 2.0 (/L, used when present).
func (l *csLexer) skipInlineImage() error {
	length := -1
	var key string
	for {
		v, op, err := l.token(0)
		if err != nil {
			return err
		}
		if op == "ID" {
			break
		}
		if op == "EI" {
			return nil // no data
		}
		switch {
		case op != "":
		case v.kind == csName && key == "":
			key = v.str
			continue
		case v.kind == csNumber && (key == "L" || key == "Length"):
			length = int(v.num)
		}
		key = ""
	}
	// one white-space byte ends ID
	if c, err := l.r.ReadByte(); err != nil {
		return readEnd(err)
	} else if !isSpace(c) {
		_ = l.r.UnreadByte()
	}
	if length >= 0 && length <= csMaxInlineData {
		if _, err := l.r.Discard(length); err != nil {
			return readEnd(err)
		}
		// the EI that follows is read as an operator and ignored
		return nil
	}
	prev, read := byte(' '), 0
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			return readEnd(err)
		}
		if read++; read > csMaxInlineData {
			return fmt.Errorf("%w: inline image over %d bytes", errContentStream, csMaxInlineData)
		}
		if c == 'E' && isSpace(prev) {
			if ahead, _ := l.r.Peek(1); len(ahead) == 1 && ahead[0] == 'I' {
				if end, err := l.r.Peek(2); (err != nil && len(end) == 1) || (len(end) == 2 && isSpace(end[1])) {
					if l.textFollows() {
						_, _ = l.r.Discard(len(end))
						return nil
					}
				}
			}
		}
		prev = c
	}
}

// textFollows reports whether the bytes after a candidate "EI" look like content-stream
// syntax rather than more image data.
func (l *csLexer) textFollows() bool {
	ahead, _ := l.r.Peek(2 + 32)
	if len(ahead) <= 2 {
		return true
	}
	for _, c := range ahead[2:] {
		if c >= 0x7f || (c < 0x20 && !isSpace(c)) {
			return false
		}
	}
	return true
}

// unescapeName decodes #xx in a name.
func unescapeName(s string) string {
	if !strings.Contains(s, "#") {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b = append(b, byte(v))
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}
