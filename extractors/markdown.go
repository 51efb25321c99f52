package extractors

import (
	"context"
	"strings"

	"github.com/docingest/docingest/document"
)

// MarkdownExtractor keeps Markdown text as written, one block per paragraph, list or
// fenced code block, and records its heading structure (ATX "## Title" and Setext
// underlines). Headings inside fenced code are not headings. A leading YAML front-matter
// block is dropped: it is metadata, not text.
//
// It reads the text line by line in place: a block is a substring of the input, never a
// list of its lines, so memory follows the text kept, not the number of lines.
type MarkdownExtractor struct{ Limits Limits }

func (e MarkdownExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	text, decode := decodeTextLazily(data)
	text = stripFrontMatter(text)
	b := newBuilder(ctx, FormatMarkdown, e.Limits)
	b.decode = decode
	b.sizeHint(len(data))
	// The open block is text[start:end], made of lines lines; start < 0 when none is open.
	start, end, lines := -1, 0, 0
	firstLine := ""
	flush := func() {
		if start >= 0 {
			b.para(text[start:end])
		}
		start, lines = -1, 0
	}
	appendLine := func(from, to int, line string) {
		if start < 0 {
			start, firstLine = from, line
		}
		end = to
		lines++
	}
	fence := ""
	for pos := 0; pos < len(text) && b.tick(); {
		from := pos
		to := strings.IndexByte(text[pos:], '\n')
		if to < 0 {
			to = len(text)
			pos = len(text)
		} else {
			to += pos
			pos = to + 1
		}
		line := strings.TrimSuffix(text[from:to], "\r")
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			appendLine(from, to, line)
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
				flush()
			}
			continue
		}
		if f := fenceOf(trimmed); f != "" {
			flush()
			fence = f
			appendLine(from, to, line)
			continue
		}
		if level, title, ok := atxHeading(line); ok {
			flush()
			b.heading(level, strings.Repeat("#", level)+" ", title)
			continue
		}
		if lines == 1 && from > 0 && isSetextUnderline(trimmed) {
			level := 1
			if trimmed[0] == '-' {
				level = 2
			}
			start, lines = -1, 0
			b.heading(level, strings.Repeat("#", level)+" ", firstLine)
			continue
		}
		if trimmed == "" {
			flush()
			continue
		}
		appendLine(from, to, line)
	}
	flush()
	return b.done()
}

func stripFrontMatter(s string) string {
	rest, ok := strings.CutPrefix(s, "---\n")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "---\r\n"); !ok {
			return s
		}
	}
	for _, end := range []string{"\n---\n", "\n---\r\n", "\r\n---\r\n"} {
		if i := strings.Index(rest, end); i >= 0 {
			return rest[i+len(end):]
		}
	}
	return s
}

func fenceOf(trimmed string) string {
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(trimmed, f) {
			return f
		}
	}
	return ""
}

// atxHeading parses "### Title ###" (up to three leading spaces, one to six '#', then a
// space or the end of the line).
func atxHeading(line string) (int, string, bool) {
	s := line
	for n := 0; n < 3 && strings.HasPrefix(s, " "); n++ {
		s = s[1:]
	}
	level := 0
	for level < len(s) && s[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(s) && s[level] != ' ' && s[level] != '\t') {
		return 0, "", false
	}
	title := strings.TrimSpace(s[level:])
	title = strings.TrimSpace(strings.TrimRight(title, "#"))
	return level, title, title != ""
}

func isSetextUnderline(trimmed string) bool {
	if len(trimmed) < 2 {
		return false
	}
	c := trimmed[0]
	if c != '=' && c != '-' {
		return false
	}
	return strings.Trim(trimmed, string(c)) == ""
}
